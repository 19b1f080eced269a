// Stand-in for the macOS SDK's <Accelerate/Accelerate.h> as compiled with
// ACCELERATE_NEW_LAPACK (which MLXConfig.cmake defines): the CBLAS enums and
// the three products csrc/cpu/blas.cpp calls, declared as vecLib's
// lapack_types.h, cblas_new.h and lapack_version.h declare them (32-bit
// __LAPACK_int, std::complex in C++, symbols renamed to name$NEWLAPACK).
#pragma once

#ifndef ACCELERATE_NEW_LAPACK
#error "this stand-in declares the ACCELERATE_NEW_LAPACK interface only"
#endif

#include <complex>

typedef int __LAPACK_int;
typedef std::complex<float> __LAPACK_float_complex;

#define __LAPACK_ALIAS(sym) __asm("_" #sym "$NEWLAPACK")

extern "C" {

enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112, CblasConjTrans = 113, AtlasConj = 114 };

void cblas_sgemm(const enum CBLAS_ORDER ORDER, const enum CBLAS_TRANSPOSE TRANSA,
                 const enum CBLAS_TRANSPOSE TRANSB, const __LAPACK_int M, const __LAPACK_int N,
                 const __LAPACK_int K, const float ALPHA, const float* _Nullable A,
                 const __LAPACK_int LDA, const float* _Nullable B, const __LAPACK_int LDB,
                 const float BETA, float* _Nullable C, const __LAPACK_int LDC)
    __LAPACK_ALIAS(cblas_sgemm);

void cblas_dgemm(const enum CBLAS_ORDER ORDER, const enum CBLAS_TRANSPOSE TRANSA,
                 const enum CBLAS_TRANSPOSE TRANSB, const __LAPACK_int M, const __LAPACK_int N,
                 const __LAPACK_int K, const double ALPHA, const double* _Nullable A,
                 const __LAPACK_int LDA, const double* _Nullable B, const __LAPACK_int LDB,
                 const double BETA, double* _Nullable C, const __LAPACK_int LDC)
    __LAPACK_ALIAS(cblas_dgemm);

void cblas_cgemm(const enum CBLAS_ORDER ORDER, const enum CBLAS_TRANSPOSE TRANSA,
                 const enum CBLAS_TRANSPOSE TRANSB, const __LAPACK_int M, const __LAPACK_int N,
                 const __LAPACK_int K, const __LAPACK_float_complex* _Nonnull ALPHA,
                 const __LAPACK_float_complex* _Nullable A, const __LAPACK_int LDA,
                 const __LAPACK_float_complex* _Nullable B, const __LAPACK_int LDB,
                 const __LAPACK_float_complex* _Nonnull BETA, __LAPACK_float_complex* _Nullable C,
                 const __LAPACK_int LDC)
    __LAPACK_ALIAS(cblas_cgemm);

}  // extern "C"

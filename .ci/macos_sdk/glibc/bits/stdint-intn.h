// Replaces Debian glibc's <bits/stdint-intn.h> (from which its <stdint.h> and
// <sys/types.h> take the signed exact-width types) with macOS's types:
// int64_t is long long on macOS (long in glibc), which changes overload
// resolution and the mangled names of MLX functions taking int64_t.
#ifndef _BITS_STDINT_INTN_H
#define _BITS_STDINT_INTN_H 1

typedef signed char int8_t;
typedef short int16_t;
typedef int int32_t;
typedef long long int64_t;

#endif

// Replaces Debian glibc's <bits/stdint-uintn.h> with macOS's unsigned
// exact-width types: uint64_t is unsigned long long on macOS. See
// stdint-intn.h.
#ifndef _BITS_STDINT_UINTN_H
#define _BITS_STDINT_UINTN_H 1

typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;

#endif

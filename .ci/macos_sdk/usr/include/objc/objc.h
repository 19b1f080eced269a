// Stand-in for the macOS SDK's <objc/objc.h>: the Objective-C runtime types
// metal-cpp's headers use, as the SDK declares them for C++.
#pragma once

typedef struct objc_class* Class;
struct objc_object {
  Class isa;
};
typedef struct objc_object* id;
typedef struct objc_selector* SEL;

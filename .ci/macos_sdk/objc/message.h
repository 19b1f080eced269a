// Stand-in for the macOS SDK's <objc/message.h>: the message-send entry points
// metal-cpp's NS::Object::sendMessage casts to the right function type
// (_stret and _fpret are used only on x86-64, as in the SDK).
#pragma once

#include <objc/objc.h>

extern "C" void objc_msgSend(void);
extern "C" void objc_msgSend_stret(void);
extern "C" void objc_msgSend_fpret(void);

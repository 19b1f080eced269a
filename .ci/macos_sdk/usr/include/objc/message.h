// Stand-in for the macOS SDK's <objc/message.h>: the message-send entry points
// NS::Object::sendMessage casts to a typed function pointer (the _stret and
// _fpret variants are used on x86-64 only).
#pragma once

#include <objc/objc.h>

extern "C" void objc_msgSend(void);
extern "C" void objc_msgSend_stret(void);
extern "C" void objc_msgSend_fpret(void);

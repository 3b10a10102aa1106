#ifndef HUBRIG_I2C_SHIM_H
#define HUBRIG_I2C_SHIM_H

/* The LD_PRELOAD stand-in for /dev/i2c-N (see i2c_shim.c). Its real interface is the
 * C library calls it replaces (open, openat, ioctl, close) and two environment
 * variables, HUBRIG_I2C_DEVICE and HUBRIG_I2C_SOCKET; this header exists because SwiftPM
 * wants a public header for a C target, and names the one extra entry point. */

/* 1 if `fd` is a descriptor the shim created for the faked device, else 0. */
int hubrig_i2c_shim_is_faked(int fd);

#endif

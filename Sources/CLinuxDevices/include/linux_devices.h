#ifndef HUBRIG_LINUX_DEVICES_H
#define HUBRIG_LINUX_DEVICES_H

/* ioctl(2) is variadic, which Swift does not import: typed wrappers for the requests the
 * hub makes on the Sense HAT's kernel devices (the rpi-sense overlay's framebuffer and
 * joystick). Each returns ioctl's result, -1 with errno set on failure. They call the
 * dynamic ioctl symbol, so the LD_PRELOAD stand-in sees them too. */

/* rpisense-fb's SENSEFB_FBIOSET_GAMMA: 32 entries of 0...31. */
int hubrig_fb_set_gamma(int fd, const unsigned char *table32);

/* rpisense-fb's SENSEFB_FBIOGET_GAMMA. */
int hubrig_fb_get_gamma(int fd, unsigned char *table32);

/* The user id of a Unix socket's peer (SO_PEERCRED, which needs _GNU_SOURCE and so is not
 * in Swift's Glibc module): 0 and *uid set, or -1 with errno set. */
int hubrig_peer_uid(int fd, unsigned int *uid);

#endif

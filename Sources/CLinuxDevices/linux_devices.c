#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/ioctl.h>

#include "linux_devices.h"

/* The request numbers of rpisense-fb (drivers/video/fbdev/rpisense-fb.c): magic 0xF1. */
#define SENSEFB_FBIOGET_GAMMA 0xF100
#define SENSEFB_FBIOSET_GAMMA 0xF101

int hubrig_fb_set_gamma(int fd, const unsigned char *table32) {
    return ioctl(fd, SENSEFB_FBIOSET_GAMMA, table32);
}

int hubrig_fb_get_gamma(int fd, unsigned char *table32) {
    return ioctl(fd, SENSEFB_FBIOGET_GAMMA, table32);
}

int hubrig_peer_uid(int fd, unsigned int *uid) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    *uid = credentials.uid;
    return 0;
}

/* glibc's malloc tunables (mallopt), which the Glibc module does not import. */
#include <malloc.h>

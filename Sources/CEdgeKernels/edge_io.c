// edge_io.c — see edge_io.h.
#define _GNU_SOURCE
#include <fcntl.h>
#include "edge_io.h"

int edge_open_flag_direct(void) { return O_DIRECT; }

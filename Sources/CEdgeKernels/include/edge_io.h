// edge_io.h — file flags Swift's Glibc module does not export (they need _GNU_SOURCE).
#pragma once

// O_DIRECT: reads bypass the page cache (buffer, offset and length aligned to the block size).
int edge_open_flag_direct(void);

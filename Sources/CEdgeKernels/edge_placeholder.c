#include "edge_kernels.h"

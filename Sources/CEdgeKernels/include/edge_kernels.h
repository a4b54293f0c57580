// Umbrella header of CEdgeKernels.
#pragma once
#include "edge_quant.h"

// Umbrella header of CEdgeKernels.
#pragma once
#include "edge_quant.h"
#include "edge_packed.h"
#include "edge_pool.h"
#include "edge_ops.h"
#include "edge_io.h"
#include "edge_membw.h"
#include "edge_relay.h"

// edge_vk.h — a Vulkan compute device, the least the runtime needs: list the devices, open one,
// buffers in its memory, and command buffers of compute dispatches submitted and waited on with a
// fence (the calling thread sleeps in vkWaitForFences; no busy wait).
//
// The Vulkan loader is opened at run time (dlopen "libvulkan.so.1"), so a binary built here runs on
// a host without one and reports that instead of failing to start. Built without the Vulkan
// headers (no libvulkan-dev), every entry point reports "not built" (edge_vk_built() == 0).
//
// Thread use: one edge_vk is used by one thread at a time (its owner serialises calls).
#ifndef EDGE_VK_H
#define EDGE_VK_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct edge_vk edge_vk;
typedef struct edge_vk_buf edge_vk_buf;

/// 1 when this build has the Vulkan device (it was compiled with the Vulkan headers).
int edge_vk_built(void);

/// VkPhysicalDeviceType: 0 other, 1 integrated GPU, 2 discrete GPU, 3 virtual GPU, 4 CPU.
typedef struct {
    char name[256];
    uint32_t vendor_id, device_id, api_version, driver_version;
    int type;
    uint64_t device_local_bytes;        // the largest DEVICE_LOCAL heap
    uint64_t host_visible_device_local; // 1 when some memory type is both (integrated / CPU devices)
    uint64_t max_storage_buffer_range;
    uint32_t max_workgroup_count_x;
    uint32_t subgroup_size;
    int has_compute_queue;
} edge_vk_info;

/// Fills up to `cap` entries and returns how many devices there are (may exceed cap), or -1 with
/// `err` set (no loader, no instance).
int edge_vk_list(edge_vk_info *out, int cap, char *err, size_t errlen);

/// Opens device `index` of edge_vk_list's order. 0 on success, else -1 with `err` set.
int edge_vk_open(int index, edge_vk **out, char *err, size_t errlen);
void edge_vk_close(edge_vk *vk);
const edge_vk_info *edge_vk_device_info(const edge_vk *vk);

/// A storage buffer of `bytes`. `host_visible`: mapped for the host (activations' way in and out);
/// otherwise device-local (weights, KV cache, activations), mapped too when the device's local
/// memory is host-visible. NULL with `err` set on failure.
edge_vk_buf *edge_vk_buffer(edge_vk *vk, uint64_t bytes, int host_visible, const char *what, char *err, size_t errlen);
void edge_vk_buffer_free(edge_vk *vk, edge_vk_buf *buf);
/// The host address of a mapped buffer, or NULL.
void *edge_vk_buffer_map(edge_vk_buf *buf);
uint64_t edge_vk_buffer_size(const edge_vk_buf *buf);
/// Bytes of device memory this device has allocated through edge_vk_buffer.
uint64_t edge_vk_allocated(const edge_vk *vk);

/// Copies host bytes into a buffer (directly when it is mapped, else through a staging buffer and
/// a transfer, waited for). 0 or -1 with `err` set.
int edge_vk_upload(edge_vk *vk, edge_vk_buf *dst, uint64_t offset, const void *src, uint64_t bytes, char *err, size_t errlen);
/// Fills `bytes` of a buffer with zeros (a transfer, waited for).
int edge_vk_zero(edge_vk *vk, edge_vk_buf *dst, char *err, size_t errlen);

/// The compute kernels (shaders/*.comp, compiled to SPIR-V in edge_vk_spirv.c).
typedef enum {
    EDGE_VK_MATMUL_F32 = 0, EDGE_VK_MATMUL_F16, EDGE_VK_MATMUL_Q4_0, EDGE_VK_MATMUL_Q4_1, EDGE_VK_MATMUL_Q5_0,
    EDGE_VK_MATMUL_Q5_1, EDGE_VK_MATMUL_Q8_0, EDGE_VK_MATMUL_Q4_K, EDGE_VK_MATMUL_Q5_K, EDGE_VK_MATMUL_Q6_K,
    EDGE_VK_RMSNORM, EDGE_VK_ROPE, EDGE_VK_STORE_KV, EDGE_VK_ATTENTION, EDGE_VK_GLU, EDGE_VK_ADD, EDGE_VK_BIAS,
    EDGE_VK_KERNEL_COUNT
} edge_vk_kernel;

/// Push constants of every kernel: 16 32-bit words, each kernel's meaning in its shader.
#define EDGE_VK_PUSH_WORDS 16

/// Recording: begin, any number of dispatches / copies / barriers, then submit (waits).
int edge_vk_begin(edge_vk *vk, char *err, size_t errlen);
/// Binds bufs[0..3] (NULL: an unused binding) and dispatches (gx, gy, gz) workgroups of `kernel`,
/// whose pipeline is built at its first use. 0 or -1 with `err` set.
int edge_vk_dispatch(edge_vk *vk, edge_vk_kernel kernel, edge_vk_buf *const bufs[4], const uint32_t push[EDGE_VK_PUSH_WORDS],
                     uint32_t gx, uint32_t gy, uint32_t gz, char *err, size_t errlen);
void edge_vk_copy(edge_vk *vk, edge_vk_buf *src, uint64_t src_off, edge_vk_buf *dst, uint64_t dst_off, uint64_t bytes);
/// Makes every earlier write (shader or transfer) visible to every later read.
void edge_vk_barrier(edge_vk *vk);
/// Ends, submits and waits for the command buffer. 0 or -1 with `err` set.
int edge_vk_submit(edge_vk *vk, char *err, size_t errlen);
/// Ends and submits without waiting (the host computes meanwhile); edge_vk_wait then waits for it.
/// Nothing else may be recorded or uploaded in between.
int edge_vk_submit_async(edge_vk *vk, char *err, size_t errlen);
int edge_vk_wait(edge_vk *vk, char *err, size_t errlen);
/// Ends a recording left unfinished (after an error) without submitting it.
void edge_vk_abandon(edge_vk *vk);

/// The SPIR-V of each kernel (edge_vk_spirv.c, generated by scripts/build-shaders.sh).
extern const uint32_t *const edge_vk_spirv[EDGE_VK_KERNEL_COUNT];
extern const size_t edge_vk_spirv_bytes[EDGE_VK_KERNEL_COUNT];
extern const char *const edge_vk_kernel_names[EDGE_VK_KERNEL_COUNT];
/// The kernel's name ("matmul_q4_k"), or "?" out of range.
const char *edge_vk_kernel_name(int kernel);

#ifdef __cplusplus
}
#endif
#endif

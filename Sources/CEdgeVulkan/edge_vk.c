// edge_vk.c — see edge_vk.h.
#include "edge_vk.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

const char *edge_vk_kernel_name(int k) { return k >= 0 && k < EDGE_VK_KERNEL_COUNT ? edge_vk_kernel_names[k] : "?"; }

#if __has_include(<vulkan/vulkan.h>)
#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>
#include <dlfcn.h>
#include <pthread.h>

int edge_vk_built(void) { return 1; }

// ---------------------------------------------------------------- the loader

#define GLOBAL_FNS(X) X(vkCreateInstance) X(vkEnumerateInstanceVersion)
#define INSTANCE_FNS(X) X(vkDestroyInstance) X(vkEnumeratePhysicalDevices) X(vkGetPhysicalDeviceProperties) \
    X(vkGetPhysicalDeviceMemoryProperties) X(vkGetPhysicalDeviceQueueFamilyProperties) X(vkCreateDevice) \
    X(vkGetDeviceProcAddr) X(vkGetPhysicalDeviceProperties2)
#define DEVICE_FNS(X) X(vkDestroyDevice) X(vkGetDeviceQueue) X(vkCreateBuffer) X(vkDestroyBuffer) \
    X(vkGetBufferMemoryRequirements) X(vkAllocateMemory) X(vkFreeMemory) X(vkBindBufferMemory) X(vkMapMemory) \
    X(vkUnmapMemory) X(vkCreateShaderModule) X(vkDestroyShaderModule) X(vkCreateDescriptorSetLayout) \
    X(vkDestroyDescriptorSetLayout) X(vkCreatePipelineLayout) X(vkDestroyPipelineLayout) X(vkCreateComputePipelines) \
    X(vkDestroyPipeline) X(vkCreateDescriptorPool) X(vkDestroyDescriptorPool) X(vkResetDescriptorPool) \
    X(vkAllocateDescriptorSets) X(vkUpdateDescriptorSets) X(vkCreateCommandPool) X(vkDestroyCommandPool) \
    X(vkAllocateCommandBuffers) X(vkBeginCommandBuffer) X(vkEndCommandBuffer) X(vkResetCommandBuffer) \
    X(vkCmdBindPipeline) X(vkCmdBindDescriptorSets) X(vkCmdPushConstants) X(vkCmdDispatch) X(vkCmdPipelineBarrier) \
    X(vkCmdCopyBuffer) X(vkCmdFillBuffer) X(vkQueueSubmit) X(vkCreateFence) X(vkDestroyFence) X(vkWaitForFences) \
    X(vkResetFences) X(vkDeviceWaitIdle)

#define DECLARE(f) static PFN_##f p_##f;
static PFN_vkGetInstanceProcAddr p_vkGetInstanceProcAddr;
GLOBAL_FNS(DECLARE)
INSTANCE_FNS(DECLARE)

// The loader and one instance, made once per process and kept (devices come and go).
static pthread_once_t loader_once = PTHREAD_ONCE_INIT;
static VkInstance instance;
static char loader_error[256];

static void loader_init(void) {
    void *lib = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = dlopen("libvulkan.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(loader_error, sizeof loader_error, "no Vulkan loader (libvulkan.so.1) on this host");
        return;
    }
    p_vkGetInstanceProcAddr = (PFN_vkGetInstanceProcAddr)dlsym(lib, "vkGetInstanceProcAddr");
    if (!p_vkGetInstanceProcAddr) {
        snprintf(loader_error, sizeof loader_error, "the Vulkan loader has no vkGetInstanceProcAddr");
        return;
    }
#define LOAD_GLOBAL(f) p_##f = (PFN_##f)p_vkGetInstanceProcAddr(NULL, #f);
    GLOBAL_FNS(LOAD_GLOBAL)
    if (!p_vkCreateInstance) {
        snprintf(loader_error, sizeof loader_error, "the Vulkan loader has no vkCreateInstance");
        return;
    }
    uint32_t version = VK_API_VERSION_1_0;
    if (p_vkEnumerateInstanceVersion) p_vkEnumerateInstanceVersion(&version);
    VkApplicationInfo app = { .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "edgert",
                              .pEngineName = "edgert", .apiVersion = version >= VK_API_VERSION_1_1 ? VK_API_VERSION_1_1 : VK_API_VERSION_1_0 };
    VkInstanceCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app };
    VkResult r = p_vkCreateInstance(&ci, NULL, &instance);
    if (r != VK_SUCCESS) {
        if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
            snprintf(loader_error, sizeof loader_error, "the Vulkan loader found no driver (VK_ERROR_INCOMPATIBLE_DRIVER; install one, e.g. mesa-vulkan-drivers)");
        else
            snprintf(loader_error, sizeof loader_error, "vkCreateInstance failed (VkResult %d)", (int)r);
        instance = VK_NULL_HANDLE;
        return;
    }
#define LOAD_INSTANCE(f) p_##f = (PFN_##f)p_vkGetInstanceProcAddr(instance, #f);
    INSTANCE_FNS(LOAD_INSTANCE)
}

static int loader_ready(char *err, size_t errlen) {
    pthread_once(&loader_once, loader_init);
    if (instance == VK_NULL_HANDLE) {
        fail(err, errlen, "%s", loader_error[0] ? loader_error : "Vulkan is not available");
        return 0;
    }
    return 1;
}

// ---------------------------------------------------------------- devices

static void describe(VkPhysicalDevice pd, edge_vk_info *info) {
    memset(info, 0, sizeof *info);
    VkPhysicalDeviceProperties p;
    p_vkGetPhysicalDeviceProperties(pd, &p);
    snprintf(info->name, sizeof info->name, "%s", p.deviceName);
    info->vendor_id = p.vendorID;
    info->device_id = p.deviceID;
    info->api_version = p.apiVersion;
    info->driver_version = p.driverVersion;
    info->type = (int)p.deviceType;
    info->max_storage_buffer_range = p.limits.maxStorageBufferRange;
    info->max_workgroup_count_x = p.limits.maxComputeWorkGroupCount[0];
    if (p_vkGetPhysicalDeviceProperties2 && p.apiVersion >= VK_API_VERSION_1_1) {
        VkPhysicalDeviceSubgroupProperties sg = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES };
        VkPhysicalDeviceProperties2 p2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sg };
        p_vkGetPhysicalDeviceProperties2(pd, &p2);
        info->subgroup_size = sg.subgroupSize;
    }
    VkPhysicalDeviceMemoryProperties m;
    p_vkGetPhysicalDeviceMemoryProperties(pd, &m);
    for (uint32_t h = 0; h < m.memoryHeapCount; h++)
        if ((m.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && m.memoryHeaps[h].size > info->device_local_bytes)
            info->device_local_bytes = m.memoryHeaps[h].size;
    for (uint32_t t = 0; t < m.memoryTypeCount; t++) {
        const VkMemoryPropertyFlags f = m.memoryTypes[t].propertyFlags;
        if ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) && (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) info->host_visible_device_local = 1;
    }
    uint32_t nq = 0;
    p_vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, NULL);
    VkQueueFamilyProperties q[16];
    if (nq > 16) nq = 16;
    p_vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, q);
    for (uint32_t i = 0; i < nq; i++) if (q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) info->has_compute_queue = 1;
}

static int physical_devices(VkPhysicalDevice *out, uint32_t cap, char *err, size_t errlen) {
    uint32_t n = 0;
    VkResult r = p_vkEnumeratePhysicalDevices(instance, &n, NULL);
    if (r != VK_SUCCESS) { fail(err, errlen, "vkEnumeratePhysicalDevices failed (VkResult %d)", (int)r); return -1; }
    if (n > cap) n = cap;
    r = p_vkEnumeratePhysicalDevices(instance, &n, out);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) { fail(err, errlen, "vkEnumeratePhysicalDevices failed (VkResult %d)", (int)r); return -1; }
    return (int)n;
}

int edge_vk_list(edge_vk_info *out, int cap, char *err, size_t errlen) {
    if (!loader_ready(err, errlen)) return -1;
    VkPhysicalDevice pds[32];
    const int n = physical_devices(pds, 32, err, errlen);
    if (n < 0) return -1;
    for (int i = 0; i < n && i < cap; i++) describe(pds[i], &out[i]);
    return n;
}

// ---------------------------------------------------------------- an opened device

#define DECLARE_DEVICE(f) PFN_##f f;
struct edge_vk {
    struct { DEVICE_FNS(DECLARE_DEVICE) } fn;
    edge_vk_info info;
    VkPhysicalDevice pd;
    VkPhysicalDeviceMemoryProperties mem;
    VkDevice dev;
    VkQueue queue;
    uint32_t queue_family;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipelines[EDGE_VK_KERNEL_COUNT];
    VkDescriptorPool pools[64];
    int npools, pool_cur;
    VkCommandPool cmd_pool;
    VkCommandBuffer cmd;
    VkFence fence;
    int recording;
    int in_flight;          // submitted, not yet waited for
    edge_vk_buf *staging;   // host-visible, for uploads to memory the host cannot map
    edge_vk_buf *dummy;     // bound where a kernel leaves a binding unused
    uint64_t allocated;
};

struct edge_vk_buf {
    VkBuffer buffer;
    VkDeviceMemory memory;
    uint64_t size;
    uint64_t allocated;     // bytes of device memory behind it (the driver's size, >= size)
    void *mapped;
};

#define F(vk) (vk)->fn

const edge_vk_info *edge_vk_device_info(const edge_vk *vk) { return &vk->info; }
uint64_t edge_vk_allocated(const edge_vk *vk) { return vk->allocated; }
void *edge_vk_buffer_map(edge_vk_buf *buf) { return buf ? buf->mapped : NULL; }
uint64_t edge_vk_buffer_size(const edge_vk_buf *buf) { return buf ? buf->size : 0; }

#define STAGING_BYTES ((uint64_t)32 << 20)
#define SETS_PER_POOL 1024

static int new_pool(edge_vk *vk, char *err, size_t errlen) {
    if (vk->npools == 64) { fail(err, errlen, "more than %d dispatches in one command buffer", 64 * SETS_PER_POOL); return -1; }
    VkDescriptorPoolSize size = { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 4 * SETS_PER_POOL };
    VkDescriptorPoolCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = SETS_PER_POOL,
                                      .poolSizeCount = 1, .pPoolSizes = &size };
    VkResult r = F(vk).vkCreateDescriptorPool(vk->dev, &ci, NULL, &vk->pools[vk->npools]);
    if (r != VK_SUCCESS) { fail(err, errlen, "vkCreateDescriptorPool failed (VkResult %d)", (int)r); return -1; }
    vk->npools++;
    return 0;
}

int edge_vk_open(int index, edge_vk **out, char *err, size_t errlen) {
    *out = NULL;
    if (!loader_ready(err, errlen)) return -1;
    VkPhysicalDevice pds[32];
    const int n = physical_devices(pds, 32, err, errlen);
    if (n < 0) return -1;
    if (index < 0 || index >= n) {
        fail(err, errlen, "no Vulkan device %d: this host has %d", index, n);
        return -1;
    }
    edge_vk *vk = calloc(1, sizeof *vk);
    if (!vk) { fail(err, errlen, "out of memory"); return -1; }
    vk->pd = pds[index];
    describe(vk->pd, &vk->info);
    p_vkGetPhysicalDeviceMemoryProperties(vk->pd, &vk->mem);
    uint32_t nq = 0;
    p_vkGetPhysicalDeviceQueueFamilyProperties(vk->pd, &nq, NULL);
    VkQueueFamilyProperties qf[16];
    if (nq > 16) nq = 16;
    p_vkGetPhysicalDeviceQueueFamilyProperties(vk->pd, &nq, qf);
    int family = -1;
    for (uint32_t i = 0; i < nq && family < 0; i++) if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) family = (int)i;
    if (family < 0) { fail(err, errlen, "Vulkan device %d (%s) has no compute queue", index, vk->info.name); free(vk); return -1; }
    vk->queue_family = (uint32_t)family;
    const float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = vk->queue_family,
                                    .queueCount = 1, .pQueuePriorities = &prio };
    VkDeviceCreateInfo dci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci };
    VkResult r = p_vkCreateDevice(vk->pd, &dci, NULL, &vk->dev);
    if (r != VK_SUCCESS) { fail(err, errlen, "vkCreateDevice failed on %s (VkResult %d)", vk->info.name, (int)r); free(vk); return -1; }
#define LOAD_DEVICE(f) vk->fn.f = (PFN_##f)p_vkGetDeviceProcAddr(vk->dev, #f); \
    if (!vk->fn.f) { fail(err, errlen, "the Vulkan driver lacks %s", #f); edge_vk_close(vk); return -1; }
    DEVICE_FNS(LOAD_DEVICE)
    F(vk).vkGetDeviceQueue(vk->dev, vk->queue_family, 0, &vk->queue);

    VkDescriptorSetLayoutBinding b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (VkDescriptorSetLayoutBinding){ .binding = (uint32_t)i, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                               .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT };
    VkDescriptorSetLayoutCreateInfo lci = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 4, .pBindings = b };
    VkPushConstantRange pcr = { VK_SHADER_STAGE_COMPUTE_BIT, 0, EDGE_VK_PUSH_WORDS * 4 };
    VkCommandPoolCreateInfo cpci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                     .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT, .queueFamilyIndex = vk->queue_family };
    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    if (F(vk).vkCreateDescriptorSetLayout(vk->dev, &lci, NULL, &vk->set_layout) != VK_SUCCESS) goto fail_setup;
    VkPipelineLayoutCreateInfo plci = { .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1,
                                        .pSetLayouts = &vk->set_layout, .pushConstantRangeCount = 1, .pPushConstantRanges = &pcr };
    if (F(vk).vkCreatePipelineLayout(vk->dev, &plci, NULL, &vk->layout) != VK_SUCCESS) goto fail_setup;
    if (F(vk).vkCreateCommandPool(vk->dev, &cpci, NULL, &vk->cmd_pool) != VK_SUCCESS) goto fail_setup;
    VkCommandBufferAllocateInfo cai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = vk->cmd_pool,
                                        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1 };
    if (F(vk).vkAllocateCommandBuffers(vk->dev, &cai, &vk->cmd) != VK_SUCCESS) goto fail_setup;
    if (F(vk).vkCreateFence(vk->dev, &fci, NULL, &vk->fence) != VK_SUCCESS) goto fail_setup;
    if (new_pool(vk, err, errlen) != 0) { edge_vk_close(vk); return -1; }
    vk->dummy = edge_vk_buffer(vk, 256, 0, "unused binding", err, errlen);
    if (!vk->dummy) { edge_vk_close(vk); return -1; }
    *out = vk;
    return 0;
fail_setup:
    fail(err, errlen, "setting up Vulkan device %d (%s) failed", index, vk->info.name);
    edge_vk_close(vk);
    return -1;
}

void edge_vk_close(edge_vk *vk) {
    if (!vk) return;
    if (vk->dev) {
        if (vk->in_flight && vk->fn.vkWaitForFences) F(vk).vkWaitForFences(vk->dev, 1, &vk->fence, VK_TRUE, UINT64_MAX);
        if (vk->fn.vkDeviceWaitIdle) F(vk).vkDeviceWaitIdle(vk->dev);
        if (vk->staging) edge_vk_buffer_free(vk, vk->staging);
        if (vk->dummy) edge_vk_buffer_free(vk, vk->dummy);
        for (int i = 0; i < EDGE_VK_KERNEL_COUNT; i++) if (vk->pipelines[i]) F(vk).vkDestroyPipeline(vk->dev, vk->pipelines[i], NULL);
        for (int i = 0; i < vk->npools; i++) F(vk).vkDestroyDescriptorPool(vk->dev, vk->pools[i], NULL);
        if (vk->fence) F(vk).vkDestroyFence(vk->dev, vk->fence, NULL);
        if (vk->cmd_pool) F(vk).vkDestroyCommandPool(vk->dev, vk->cmd_pool, NULL);
        if (vk->layout) F(vk).vkDestroyPipelineLayout(vk->dev, vk->layout, NULL);
        if (vk->set_layout) F(vk).vkDestroyDescriptorSetLayout(vk->dev, vk->set_layout, NULL);
        if (vk->fn.vkDestroyDevice) F(vk).vkDestroyDevice(vk->dev, NULL);
    }
    free(vk);
}

// ---------------------------------------------------------------- buffers

static int memory_type(const edge_vk *vk, uint32_t bits, VkMemoryPropertyFlags want) {
    for (uint32_t t = 0; t < vk->mem.memoryTypeCount; t++)
        if ((bits & (1u << t)) && (vk->mem.memoryTypes[t].propertyFlags & want) == want) return (int)t;
    return -1;
}

edge_vk_buf *edge_vk_buffer(edge_vk *vk, uint64_t bytes, int host_visible, const char *what, char *err, size_t errlen) {
    if (bytes == 0) bytes = 4;
    edge_vk_buf *b = calloc(1, sizeof *b);
    if (!b) { fail(err, errlen, "out of memory"); return NULL; }
    b->size = bytes;
    VkBufferCreateInfo bci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = bytes,
                               .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                               .sharingMode = VK_SHARING_MODE_EXCLUSIVE };
    VkResult r = F(vk).vkCreateBuffer(vk->dev, &bci, NULL, &b->buffer);
    if (r != VK_SUCCESS) { fail(err, errlen, "vkCreateBuffer of %llu bytes for %s failed (VkResult %d)", (unsigned long long)bytes, what, (int)r); free(b); return NULL; }
    VkMemoryRequirements req;
    F(vk).vkGetBufferMemoryRequirements(vk->dev, b->buffer, &req);
    int type;
    if (host_visible) {
        type = memory_type(vk, req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
        if (type < 0) type = memory_type(vk, req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    } else {
        // Device-local, and mapped too where such memory is host-visible (integrated GPUs, CPU devices).
        type = memory_type(vk, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
        if (type < 0) type = memory_type(vk, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
        if (type < 0) type = memory_type(vk, req.memoryTypeBits, 0);
    }
    if (type < 0) { fail(err, errlen, "no memory type for %s", what); F(vk).vkDestroyBuffer(vk->dev, b->buffer, NULL); free(b); return NULL; }
    VkMemoryAllocateInfo mai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = (uint32_t)type };
    r = F(vk).vkAllocateMemory(vk->dev, &mai, NULL, &b->memory);
    if (r != VK_SUCCESS) {
        fail(err, errlen, "allocating %llu bytes of device memory for %s failed (VkResult %d)", (unsigned long long)req.size, what, (int)r);
        F(vk).vkDestroyBuffer(vk->dev, b->buffer, NULL);
        free(b);
        return NULL;
    }
    F(vk).vkBindBufferMemory(vk->dev, b->buffer, b->memory, 0);
    const VkMemoryPropertyFlags flags = vk->mem.memoryTypes[type].propertyFlags;
    if ((flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) && (flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)) {
        if (F(vk).vkMapMemory(vk->dev, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped) != VK_SUCCESS) b->mapped = NULL;
    }
    b->allocated = req.size;
    vk->allocated += req.size;
    return b;
}

void edge_vk_buffer_free(edge_vk *vk, edge_vk_buf *b) {
    if (!b) return;
    if (b->mapped) F(vk).vkUnmapMemory(vk->dev, b->memory);
    F(vk).vkDestroyBuffer(vk->dev, b->buffer, NULL);
    F(vk).vkFreeMemory(vk->dev, b->memory, NULL);
    vk->allocated -= b->allocated;
    free(b);
}

// One transfer, recorded and waited for outside any recording in progress.
static int one_shot_begin(edge_vk *vk, char *err, size_t errlen) {
    if (vk->recording) { fail(err, errlen, "a transfer was asked for while a command buffer is being recorded"); return -1; }
    return edge_vk_begin(vk, err, errlen);
}

int edge_vk_upload(edge_vk *vk, edge_vk_buf *dst, uint64_t offset, const void *src, uint64_t bytes, char *err, size_t errlen) {
    if (offset > dst->size || bytes > dst->size - offset) {
        fail(err, errlen, "upload of %llu bytes at %llu is outside a buffer of %llu", (unsigned long long)bytes,
             (unsigned long long)offset, (unsigned long long)dst->size);
        return -1;
    }
    if (dst->mapped) {
        memcpy((char *)dst->mapped + offset, src, bytes);
        return 0;
    }
    if (!vk->staging && !(vk->staging = edge_vk_buffer(vk, STAGING_BYTES, 1, "staging", err, errlen))) return -1;
    for (uint64_t done = 0; done < bytes;) {
        const uint64_t n = bytes - done < STAGING_BYTES ? bytes - done : STAGING_BYTES;
        memcpy(vk->staging->mapped, (const char *)src + done, n);
        if (one_shot_begin(vk, err, errlen) != 0) return -1;
        edge_vk_copy(vk, vk->staging, 0, dst, offset + done, n);
        if (edge_vk_submit(vk, err, errlen) != 0) return -1;
        done += n;
    }
    return 0;
}

int edge_vk_zero(edge_vk *vk, edge_vk_buf *dst, char *err, size_t errlen) {
    if (dst->mapped) { memset(dst->mapped, 0, dst->size); return 0; }
    if (one_shot_begin(vk, err, errlen) != 0) return -1;
    F(vk).vkCmdFillBuffer(vk->cmd, dst->buffer, 0, VK_WHOLE_SIZE, 0);
    return edge_vk_submit(vk, err, errlen);
}

// ---------------------------------------------------------------- recording

int edge_vk_begin(edge_vk *vk, char *err, size_t errlen) {
    if (vk->recording) { fail(err, errlen, "a command buffer is already being recorded"); return -1; }
    if (vk->in_flight && edge_vk_wait(vk, err, errlen) != 0) return -1;
    for (int i = 0; i < vk->npools; i++) F(vk).vkResetDescriptorPool(vk->dev, vk->pools[i], 0);
    vk->pool_cur = 0;
    F(vk).vkResetCommandBuffer(vk->cmd, 0);
    VkCommandBufferBeginInfo bi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };
    VkResult r = F(vk).vkBeginCommandBuffer(vk->cmd, &bi);
    if (r != VK_SUCCESS) { fail(err, errlen, "vkBeginCommandBuffer failed (VkResult %d)", (int)r); return -1; }
    vk->recording = 1;
    return 0;
}

static VkPipeline pipeline(edge_vk *vk, edge_vk_kernel k, char *err, size_t errlen) {
    if (vk->pipelines[k]) return vk->pipelines[k];
    VkShaderModuleCreateInfo smci = { .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = edge_vk_spirv_bytes[k],
                                      .pCode = edge_vk_spirv[k] };
    VkShaderModule mod;
    VkResult r = F(vk).vkCreateShaderModule(vk->dev, &smci, NULL, &mod);
    if (r != VK_SUCCESS) { fail(err, errlen, "shader %s: vkCreateShaderModule failed (VkResult %d)", edge_vk_kernel_names[k], (int)r); return VK_NULL_HANDLE; }
    VkComputePipelineCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
                                       .stage = { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                                                  .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = mod, .pName = "main" },
                                       .layout = vk->layout };
    r = F(vk).vkCreateComputePipelines(vk->dev, VK_NULL_HANDLE, 1, &ci, NULL, &vk->pipelines[k]);
    F(vk).vkDestroyShaderModule(vk->dev, mod, NULL);
    if (r != VK_SUCCESS) { fail(err, errlen, "shader %s: vkCreateComputePipelines failed (VkResult %d)", edge_vk_kernel_names[k], (int)r); vk->pipelines[k] = VK_NULL_HANDLE; }
    return vk->pipelines[k];
}

int edge_vk_dispatch(edge_vk *vk, edge_vk_kernel kernel, edge_vk_buf *const bufs[4], const uint32_t push[EDGE_VK_PUSH_WORDS],
                     uint32_t gx, uint32_t gy, uint32_t gz, char *err, size_t errlen) {
    if (!vk->recording) { fail(err, errlen, "dispatch outside a recording"); return -1; }
    if ((int)kernel < 0 || kernel >= EDGE_VK_KERNEL_COUNT) { fail(err, errlen, "no kernel %d", (int)kernel); return -1; }
    VkPipeline p = pipeline(vk, kernel, err, errlen);
    if (!p) return -1;
    VkDescriptorSet set = VK_NULL_HANDLE;
    for (;;) {
        VkDescriptorSetAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = vk->pools[vk->pool_cur],
                                           .descriptorSetCount = 1, .pSetLayouts = &vk->set_layout };
        VkResult r = F(vk).vkAllocateDescriptorSets(vk->dev, &ai, &set);
        if (r == VK_SUCCESS) break;
        if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL) {
            fail(err, errlen, "vkAllocateDescriptorSets failed (VkResult %d)", (int)r);
            return -1;
        }
        if (vk->pool_cur + 1 == vk->npools && new_pool(vk, err, errlen) != 0) return -1;
        vk->pool_cur++;
    }
    VkDescriptorBufferInfo bi[4];
    VkWriteDescriptorSet w[4];
    for (int i = 0; i < 4; i++) {
        const edge_vk_buf *b = bufs && bufs[i] ? bufs[i] : vk->dummy;
        bi[i] = (VkDescriptorBufferInfo){ b->buffer, 0, VK_WHOLE_SIZE };
        w[i] = (VkWriteDescriptorSet){ .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set, .dstBinding = (uint32_t)i,
                                       .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &bi[i] };
    }
    F(vk).vkUpdateDescriptorSets(vk->dev, 4, w, 0, NULL);
    F(vk).vkCmdBindPipeline(vk->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p);
    F(vk).vkCmdBindDescriptorSets(vk->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, vk->layout, 0, 1, &set, 0, NULL);
    F(vk).vkCmdPushConstants(vk->cmd, vk->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, EDGE_VK_PUSH_WORDS * 4, push);
    F(vk).vkCmdDispatch(vk->cmd, gx, gy, gz);
    return 0;
}

void edge_vk_copy(edge_vk *vk, edge_vk_buf *src, uint64_t src_off, edge_vk_buf *dst, uint64_t dst_off, uint64_t bytes) {
    VkBufferCopy c = { src_off, dst_off, bytes };
    F(vk).vkCmdCopyBuffer(vk->cmd, src->buffer, dst->buffer, 1, &c);
}

void edge_vk_barrier(edge_vk *vk) {
    VkMemoryBarrier mb = { .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                           .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                           .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                                            VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT };
    F(vk).vkCmdPipelineBarrier(vk->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                               VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                               0, 1, &mb, 0, NULL, 0, NULL);
}

int edge_vk_submit_async(edge_vk *vk, char *err, size_t errlen) {
    if (!vk->recording) { fail(err, errlen, "submit without a recording"); return -1; }
    vk->recording = 0;
    VkResult r = F(vk).vkEndCommandBuffer(vk->cmd);
    if (r != VK_SUCCESS) { fail(err, errlen, "vkEndCommandBuffer failed (VkResult %d)", (int)r); return -1; }
    VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &vk->cmd };
    F(vk).vkResetFences(vk->dev, 1, &vk->fence);
    r = F(vk).vkQueueSubmit(vk->queue, 1, &si, vk->fence);
    if (r != VK_SUCCESS) { fail(err, errlen, "vkQueueSubmit failed (VkResult %d)", (int)r); return -1; }
    vk->in_flight = 1;
    return 0;
}

int edge_vk_wait(edge_vk *vk, char *err, size_t errlen) {
    if (!vk->in_flight) return 0;
    vk->in_flight = 0;
    VkResult r = F(vk).vkWaitForFences(vk->dev, 1, &vk->fence, VK_TRUE, UINT64_MAX);
    if (r != VK_SUCCESS) { fail(err, errlen, "waiting for the GPU failed (VkResult %d%s)", (int)r, r == VK_ERROR_DEVICE_LOST ? ": device lost" : ""); return -1; }
    return 0;
}

void edge_vk_abandon(edge_vk *vk) {
    if (!vk || !vk->recording) return;
    F(vk).vkEndCommandBuffer(vk->cmd);
    vk->recording = 0;
}

int edge_vk_submit(edge_vk *vk, char *err, size_t errlen) {
    if (edge_vk_submit_async(vk, err, errlen) != 0) return -1;
    return edge_vk_wait(vk, err, errlen);
}

#else  // built without the Vulkan headers

int edge_vk_built(void) { return 0; }
#define NOT_BUILT fail(err, errlen, "this build of edgert has no Vulkan support (libvulkan-dev was not installed when it was built)")
int edge_vk_list(edge_vk_info *out, int cap, char *err, size_t errlen) { (void)out; (void)cap; NOT_BUILT; return -1; }
int edge_vk_open(int index, edge_vk **out, char *err, size_t errlen) { (void)index; *out = NULL; NOT_BUILT; return -1; }
void edge_vk_close(edge_vk *vk) { (void)vk; }
const edge_vk_info *edge_vk_device_info(const edge_vk *vk) { (void)vk; return NULL; }
edge_vk_buf *edge_vk_buffer(edge_vk *vk, uint64_t bytes, int hv, const char *what, char *err, size_t errlen) { (void)vk; (void)bytes; (void)hv; (void)what; NOT_BUILT; return NULL; }
void edge_vk_buffer_free(edge_vk *vk, edge_vk_buf *buf) { (void)vk; (void)buf; }
void *edge_vk_buffer_map(edge_vk_buf *buf) { (void)buf; return NULL; }
uint64_t edge_vk_buffer_size(const edge_vk_buf *buf) { (void)buf; return 0; }
uint64_t edge_vk_allocated(const edge_vk *vk) { (void)vk; return 0; }
int edge_vk_upload(edge_vk *vk, edge_vk_buf *dst, uint64_t o, const void *src, uint64_t n, char *err, size_t errlen) { (void)vk; (void)dst; (void)o; (void)src; (void)n; NOT_BUILT; return -1; }
int edge_vk_zero(edge_vk *vk, edge_vk_buf *dst, char *err, size_t errlen) { (void)vk; (void)dst; NOT_BUILT; return -1; }
int edge_vk_begin(edge_vk *vk, char *err, size_t errlen) { (void)vk; NOT_BUILT; return -1; }
int edge_vk_dispatch(edge_vk *vk, edge_vk_kernel k, edge_vk_buf *const bufs[4], const uint32_t push[EDGE_VK_PUSH_WORDS],
                     uint32_t gx, uint32_t gy, uint32_t gz, char *err, size_t errlen) { (void)vk; (void)k; (void)bufs; (void)push; (void)gx; (void)gy; (void)gz; NOT_BUILT; return -1; }
void edge_vk_copy(edge_vk *vk, edge_vk_buf *s, uint64_t so, edge_vk_buf *d, uint64_t dof, uint64_t n) { (void)vk; (void)s; (void)so; (void)d; (void)dof; (void)n; }
void edge_vk_barrier(edge_vk *vk) { (void)vk; }
int edge_vk_submit(edge_vk *vk, char *err, size_t errlen) { (void)vk; NOT_BUILT; return -1; }
int edge_vk_submit_async(edge_vk *vk, char *err, size_t errlen) { (void)vk; NOT_BUILT; return -1; }
int edge_vk_wait(edge_vk *vk, char *err, size_t errlen) { (void)vk; NOT_BUILT; return -1; }
void edge_vk_abandon(edge_vk *vk) { (void)vk; }
#endif

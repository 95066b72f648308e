// Micro-benchmark: the same 8x8-blocked SGEMM reading its operands through texelFetch (uniform
// texel buffers) or imageLoad (storage texel buffers), RGBA32F, on one device.
#include <vulkan/vulkan.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define CK(x) do { VkResult r_ = (x); if (r_) { fprintf(stderr, "%s: %d\n", #x, r_); exit(1); } } while (0)
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static void *rd(const char *f, size_t *n) { FILE *fp = fopen(f, "rb"); if (!fp) { perror(f); exit(1); } fseek(fp, 0, SEEK_END); *n = ftell(fp); rewind(fp); void *b = malloc(*n); if (fread(b, 1, *n, fp) != *n) exit(1); fclose(fp); return b; }
int main(int argc, char **argv) {
  uint32_t S = argc > 1 ? (uint32_t)atoi(argv[1]) : 512; /* M = N = K */
  VkInstance inst; VkApplicationInfo ai = {VK_STRUCTURE_TYPE_APPLICATION_INFO, .apiVersion = VK_API_VERSION_1_2};
  VkInstanceCreateInfo ici = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &ai};
  CK(vkCreateInstance(&ici, 0, &inst));
  uint32_t n = 1; VkPhysicalDevice pd; vkEnumeratePhysicalDevices(inst, &n, &pd);
  VkPhysicalDeviceProperties pp; vkGetPhysicalDeviceProperties(pd, &pp);
  printf("%s, %ux%ux%u\n", pp.deviceName, S, S, S);
  float prio = 1; VkDeviceQueueCreateInfo qci = {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueCount = 1, .pQueuePriorities = &prio};
  VkDeviceCreateInfo dci = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci};
  VkDevice dev; CK(vkCreateDevice(pd, &dci, 0, &dev)); VkQueue q; vkGetDeviceQueue(dev, 0, 0, &q);
  VkDeviceSize bytes = (VkDeviceSize)S * S * 4;
  VkBuffer buf[4]; VkDeviceMemory mem[4]; float *map[4];
  for (int i = 0; i < 4; i++) {
    VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = bytes, .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT};
    CK(vkCreateBuffer(dev, &bci, 0, &buf[i])); VkMemoryRequirements mr; vkGetBufferMemoryRequirements(dev, buf[i], &mr);
    VkMemoryAllocateInfo mai = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = mr.size, .memoryTypeIndex = 0};
    CK(vkAllocateMemory(dev, &mai, 0, &mem[i])); CK(vkBindBufferMemory(dev, buf[i], mem[i], 0));
    CK(vkMapMemory(dev, mem[i], 0, bytes, 0, (void **)&map[i]));
  }
  srand(1);
  for (size_t i = 0; i < (size_t)S * S; i++) map[0][i] = (float)rand() / RAND_MAX - 0.5f, map[1][i] = (float)rand() / RAND_MAX - 0.5f;
  VkBufferView view[2];
  for (int i = 0; i < 2; i++) { VkBufferViewCreateInfo vci = {VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO, .buffer = buf[i], .format = VK_FORMAT_R32G32B32A32_SFLOAT, .range = bytes}; CK(vkCreateBufferView(dev, &vci, 0, &view[i])); }
  const char *names[2] = {"tex.spv", "img.spv"};
  VkDescriptorType t0[2] = {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER};
  VkPipeline pl[2]; VkPipelineLayout lay[2]; VkDescriptorSet ds[2];
  VkDescriptorPoolSize ps[3] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2}, {VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, 4}, {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, 4}};
  VkDescriptorPoolCreateInfo dpci = {VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 2, .poolSizeCount = 3, .pPoolSizes = ps};
  VkDescriptorPool pool; CK(vkCreateDescriptorPool(dev, &dpci, 0, &pool));
  for (int k = 0; k < 2; k++) {
    VkDescriptorSetLayoutBinding lb[3] = {{0, t0[k], 1, VK_SHADER_STAGE_COMPUTE_BIT}, {1, t0[k], 1, VK_SHADER_STAGE_COMPUTE_BIT}, {2, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT}};
    VkDescriptorSetLayoutCreateInfo lci = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 3, .pBindings = lb};
    VkDescriptorSetLayout dsl; CK(vkCreateDescriptorSetLayout(dev, &lci, 0, &dsl));
    VkPushConstantRange pr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, 12};
    VkPipelineLayoutCreateInfo plci = {VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1, .pSetLayouts = &dsl, .pushConstantRangeCount = 1, .pPushConstantRanges = &pr};
    CK(vkCreatePipelineLayout(dev, &plci, 0, &lay[k]));
    size_t sz; void *code = rd(names[k], &sz);
    VkShaderModuleCreateInfo smci = {VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = sz, .pCode = code};
    VkShaderModule sm; CK(vkCreateShaderModule(dev, &smci, 0, &sm));
    VkComputePipelineCreateInfo cpci = {VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO, .stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = sm, .pName = "main"}, .layout = lay[k]};
    CK(vkCreateComputePipelines(dev, 0, 1, &cpci, 0, &pl[k]));
    VkDescriptorSetAllocateInfo dsai = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = pool, .descriptorSetCount = 1, .pSetLayouts = &dsl};
    CK(vkAllocateDescriptorSets(dev, &dsai, &ds[k]));
    VkDescriptorBufferInfo bi = {buf[2 + k], 0, bytes};
    VkWriteDescriptorSet w[3] = {{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = ds[k], .dstBinding = 0, .descriptorCount = 1, .descriptorType = t0[k], .pTexelBufferView = &view[0]},
                                 {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = ds[k], .dstBinding = 1, .descriptorCount = 1, .descriptorType = t0[k], .pTexelBufferView = &view[1]},
                                 {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = ds[k], .dstBinding = 2, .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &bi}};
    vkUpdateDescriptorSets(dev, 3, w, 0, 0);
  }
  VkCommandPoolCreateInfo cpi = {VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = 0};
  VkCommandPool cp; CK(vkCreateCommandPool(dev, &cpi, 0, &cp));
  VkCommandBufferAllocateInfo cbai = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = cp, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
  VkCommandBuffer cb; CK(vkAllocateCommandBuffers(dev, &cbai, &cb));
  VkFenceCreateInfo fci = {VK_STRUCTURE_TYPE_FENCE_CREATE_INFO}; VkFence f; CK(vkCreateFence(dev, &fci, 0, &f));
  const char *kn[2] = {"texelFetch", "imageLoad"};
  for (int rep = 0; rep < 8; rep++)
    for (int k = 0; k < 2; k++) {
      VkCommandBufferBeginInfo bbi = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
      CK(vkBeginCommandBuffer(cb, &bbi));
      vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pl[k]);
      vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, lay[k], 0, 1, &ds[k], 0, 0);
      uint32_t pc[3] = {S, S, S}; vkCmdPushConstants(cb, lay[k], VK_SHADER_STAGE_COMPUTE_BIT, 0, 12, pc);
      vkCmdDispatch(cb, S / 64, S / 8, 1);
      CK(vkEndCommandBuffer(cb));
      VkSubmitInfo si = {VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
      double t = now(); CK(vkQueueSubmit(q, 1, &si, f)); CK(vkWaitForFences(dev, 1, &f, 1, ~0ull)); t = now() - t;
      vkResetFences(dev, 1, &f); vkResetCommandBuffer(cb, 0);
      printf("%-11s %.2f ms, %.1f GFLOP/s\n", kn[k], t * 1e3, 2.0 * S * S * S / t / 1e9);
    }
  double err = 0, ref = 0;
  for (uint32_t i = 0; i < S; i += 37)
    for (uint32_t j = 0; j < S; j += 13) {
      double s = 0;
      for (uint32_t k = 0; k < S; k++) s += (double)map[0][i * S + k] * map[1][k * S + j];
      err = fmax(err, fmax(fabs(map[2][i * S + j] - s), fabs(map[3][i * S + j] - s))), ref = fmax(ref, fabs(s));
    }
  printf("largest error against a double reference: %.2e (of %.2e); the two kernels %s\n", err, ref,
         memcmp(map[2], map[3], bytes) ? "differ" : "agree bit for bit");
  return 0;
}

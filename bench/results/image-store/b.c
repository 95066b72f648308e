// Micro-benchmark: vec4 stores through a storage buffer vs imageStore to an RGBA32F storage texel buffer.
#include <vulkan/vulkan.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define CK(x) do { VkResult r_ = (x); if (r_) { fprintf(stderr, "%s: %d\n", #x, r_); exit(1); } } while (0)
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static void *rd(const char *f, size_t *n) { FILE *fp = fopen(f, "rb"); fseek(fp, 0, SEEK_END); *n = ftell(fp); rewind(fp); void *b = malloc(*n); fread(b, 1, *n, fp); fclose(fp); return b; }
int main(void) {
  VkInstance inst; VkApplicationInfo ai = {VK_STRUCTURE_TYPE_APPLICATION_INFO, .apiVersion = VK_API_VERSION_1_2};
  VkInstanceCreateInfo ici = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &ai};
  CK(vkCreateInstance(&ici, 0, &inst));
  uint32_t n = 1; VkPhysicalDevice pd; vkEnumeratePhysicalDevices(inst, &n, &pd);
  VkPhysicalDeviceProperties pp; vkGetPhysicalDeviceProperties(pd, &pp);
  printf("%s maxTexelBufferElements %u\n", pp.deviceName, pp.limits.maxTexelBufferElements);
  VkFormatProperties fp; vkGetPhysicalDeviceFormatProperties(pd, VK_FORMAT_R32G32B32A32_SFLOAT, &fp);
  printf("storage texel buffer RGBA32F: %d\n", !!(fp.bufferFeatures & VK_FORMAT_FEATURE_STORAGE_TEXEL_BUFFER_BIT));
  float prio = 1; VkDeviceQueueCreateInfo qci = {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueCount = 1, .pQueuePriorities = &prio};
  VkDeviceCreateInfo dci = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci};
  VkDevice dev; CK(vkCreateDevice(pd, &dci, 0, &dev)); VkQueue q; vkGetDeviceQueue(dev, 0, 0, &q);
  uint32_t N = 16u << 20; /* vec4s: 256 MiB */
  VkDeviceSize bytes = (VkDeviceSize)N * 16;
  VkBuffer buf[2]; VkDeviceMemory mem[2];
  for (int i = 0; i < 2; i++) {
    VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = bytes, .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT};
    CK(vkCreateBuffer(dev, &bci, 0, &buf[i])); VkMemoryRequirements mr; vkGetBufferMemoryRequirements(dev, buf[i], &mr);
    VkMemoryAllocateInfo mai = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = mr.size, .memoryTypeIndex = 0};
    CK(vkAllocateMemory(dev, &mai, 0, &mem[i])); CK(vkBindBufferMemory(dev, buf[i], mem[i], 0));
  }
  VkBufferView view[2];
  for (int i = 0; i < 2; i++) { VkBufferViewCreateInfo vci = {VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO, .buffer = buf[i], .format = VK_FORMAT_R32G32B32A32_SFLOAT, .range = bytes}; CK(vkCreateBufferView(dev, &vci, 0, &view[i])); }
  const char *names[2] = {"ssbo.spv", "img.spv"};
  VkDescriptorType t0[2] = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER};
  VkPipeline pl[2]; VkPipelineLayout lay[2]; VkDescriptorSet ds[2];
  VkDescriptorPoolSize ps[3] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2}, {VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, 2}, {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, 2}};
  VkDescriptorPoolCreateInfo dpci = {VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 2, .poolSizeCount = 3, .pPoolSizes = ps};
  VkDescriptorPool pool; CK(vkCreateDescriptorPool(dev, &dpci, 0, &pool));
  for (int k = 0; k < 2; k++) {
    VkDescriptorSetLayoutBinding lb[2] = {{0, t0[k], 1, VK_SHADER_STAGE_COMPUTE_BIT}, {1, VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT}};
    VkDescriptorSetLayoutCreateInfo lci = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 2, .pBindings = lb};
    VkDescriptorSetLayout dsl; CK(vkCreateDescriptorSetLayout(dev, &lci, 0, &dsl));
    VkPushConstantRange pr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, 8};
    VkPipelineLayoutCreateInfo plci = {VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1, .pSetLayouts = &dsl, .pushConstantRangeCount = 1, .pPushConstantRanges = &pr};
    CK(vkCreatePipelineLayout(dev, &plci, 0, &lay[k]));
    size_t sz; void *code = rd(names[k], &sz);
    VkShaderModuleCreateInfo smci = {VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = sz, .pCode = code};
    VkShaderModule sm; CK(vkCreateShaderModule(dev, &smci, 0, &sm));
    VkComputePipelineCreateInfo cpci = {VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO, .stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = sm, .pName = "main"}, .layout = lay[k]};
    CK(vkCreateComputePipelines(dev, 0, 1, &cpci, 0, &pl[k]));
    VkDescriptorSetAllocateInfo dsai = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = pool, .descriptorSetCount = 1, .pSetLayouts = &dsl};
    CK(vkAllocateDescriptorSets(dev, &dsai, &ds[k]));
    VkDescriptorBufferInfo bi = {buf[0], 0, bytes};
    VkWriteDescriptorSet w[2] = {{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = ds[k], .dstBinding = 0, .descriptorCount = 1, .descriptorType = t0[k], .pBufferInfo = &bi, .pTexelBufferView = &view[0]},
                                 {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = ds[k], .dstBinding = 1, .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, .pTexelBufferView = &view[1]}};
    vkUpdateDescriptorSets(dev, 2, w, 0, 0);
  }
  VkCommandPoolCreateInfo cpi = {VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = 0};
  VkCommandPool cp; CK(vkCreateCommandPool(dev, &cpi, 0, &cp));
  VkCommandBufferAllocateInfo cbai = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = cp, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
  VkCommandBuffer cb; CK(vkAllocateCommandBuffers(dev, &cbai, &cb));
  VkFenceCreateInfo fci = {VK_STRUCTURE_TYPE_FENCE_CREATE_INFO}; VkFence f; CK(vkCreateFence(dev, &fci, 0, &f));
  const char *kn[2] = {"ssbo vec4 store", "imageStore rgba32f"};
  for (int mode = 0; mode < 2; mode++)
  for (int rep = 0; rep < 3; rep++)
    for (int k = 0; k < 2; k++) {
      VkCommandBufferBeginInfo bbi = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
      CK(vkBeginCommandBuffer(cb, &bbi));
      vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pl[k]);
      vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, lay[k], 0, 1, &ds[k], 0, 0);
      uint32_t pc[2] = {N, (uint32_t)mode}; vkCmdPushConstants(cb, lay[k], VK_SHADER_STAGE_COMPUTE_BIT, 0, 8, pc);
      uint32_t groups = N / 64; vkCmdDispatch(cb, 65535, (groups + 65534) / 65535, 1);
      CK(vkEndCommandBuffer(cb));
      VkSubmitInfo si = {VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
      double t = now(); CK(vkQueueSubmit(q, 1, &si, f)); CK(vkWaitForFences(dev, 1, &f, 1, ~0ull)); t = now() - t;
      vkResetFences(dev, 1, &f); vkResetCommandBuffer(cb, 0);
      printf("%-20s %s: %.1f ms, %.2f G floats/s stored\n", kn[k], mode ? "copy (texelFetch in)" : "fill", t * 1e3, 4.0 * N / t / 1e9);
    }
  float *m; CK(vkMapMemory(dev, mem[0], 0, 64, 0, (void **)&m)); printf("check: %g %g %g %g\n", m[4], m[5], m[6], m[7]);
  return 0;
}

# Cross-compiling asvk for 64-bit Arm Linux (Raspberry Pi, Mali and Adreno
# boards and phones) on a Debian machine of another architecture:
#   scripts/setup.sh --cross arm64     # the packages
#   scripts/build.sh --arch arm64      # build-arm64/, with this file
# Debian's cross compiler (gcc-aarch64-linux-gnu) builds the C code against
# the arm64 libraries that multiarch installs beside the native ones
# (/usr/lib/aarch64-linux-gnu; the headers under /usr/include are shared).
# Programs the build runs are the build machine's: glslangValidator and
# spirv-val, and the SPIR-V embedder (shaders/CMakeLists.txt builds it with
# the native compiler when cross-compiling).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# ctest runs the arm64 test programs through qemu-user (package qemu-user),
# so no binfmt_misc registration is needed. -L / : the arm64 dynamic linker
# and libraries are the multiarch ones of this root. The arm64 Vulkan loader
# is pointed at the arm64 lavapipe alone (VK_DRIVER_FILES): it cannot open the
# native drivers, whose manifests it would otherwise find and report as errors
# (scripts/setup.sh --cross arm64 moves the arm64 manifests out of the native
# loader's way, into the first folder below).
if(NOT CMAKE_CROSSCOMPILING_EMULATOR)
  find_program(ASVK_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
  if(ASVK_QEMU_AARCH64)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${ASVK_QEMU_AARCH64} -L /)
    foreach(icd /usr/lib/aarch64-linux-gnu/vulkan/icd.d/lvp_icd.aarch64.json
                /usr/share/vulkan/icd.d/lvp_icd.aarch64.json)
      if(EXISTS ${icd})
        set(CMAKE_CROSSCOMPILING_EMULATOR env VK_DRIVER_FILES=${icd} ${CMAKE_CROSSCOMPILING_EMULATOR})
        break()
      endif()
    endforeach()
  endif()
endif()

/* The one translation unit that compiles stb's header-only libraries
 * (libstb-dev ships headers, no library): stb_image for image-folder
 * datasets, stb_image_resize to bring them to one size, stb_image_write for
 * report images and test fixtures. */

/* A corrupt header must not size a multi-gigabyte allocation; no training
 * image is larger than this per side. */
#define STBI_MAX_DIMENSIONS (1 << 14)
/* Messages a user can act on ("corrupt JPEG") rather than terse codes. */
#define STBI_FAILURE_USERMSG

#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image_resize.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

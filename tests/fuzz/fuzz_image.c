/* Image-folder datasets as `--data folder:DIR:RES:C` reads them
 * (asvk_dataset_load_image_folder: stb_image decodes every format it knows,
 * found by content, then stb_image_resize brings the image to RES).
 *
 * Input: 3 bytes (bit 0 of the first: 3 channels, else 1; the second and
 * third: height and width - 1, modulo 64; the first's upper bits pick the
 * file's extension), then the image file. */
#include <stdio.h>

#include "runtime/data/dataset.h"
#include "tests/fuzz/common.h"
#include "tests/fuzz/dataset_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const ext[] = {".png", ".jpg", ".bmp", ".gif", ".tga", ".psd", ".pnm", ".pic", ".hdr"};
    if (size < 3) return 0;
    uint32_t c = data[0] & 1 ? 3 : 1, h = 1 + data[1] % 64, w = 1 + data[2] % 64;
    char name[64], path[4096];
    fuzz_clean();
    snprintf(name, sizeof name, "images/class/image%s", ext[(data[0] >> 1) % (sizeof ext / sizeof ext[0])]);
    fuzz_write(path, sizeof path, name, data + 3, size - 3);
    asvk_error_clear();
    asvk_dataset *d = NULL;
    asvk_status st = asvk_dataset_load_image_folder(fuzz_path(path, sizeof path, "images"), h, w, c, &d);
    fuzz_check_dataset(st, d);
    return 0;
}

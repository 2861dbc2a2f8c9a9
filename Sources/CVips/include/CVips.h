// PromptReel's narrow view of libvips: fixed-argument calls (Swift cannot call vips' variadic ones)
// on an opaque image type, so Swift never needs glib's headers.
#include <stddef.h>

typedef struct _VipsImage pr_vips_image;

int pr_vips_init(void);

// 1 JPEG, 2 PNG, 3 WebP: only these loaders are ever used, chosen by PromptReel from magic bytes.
int pr_vips_load(int format, const void *buf, size_t len, pr_vips_image **out);
// The same, decoded at 1/shrink of its size where the format can (JPEG: 1, 2, 4 or 8; WebP: any); PNG
// ignores it. Far less memory and time for a large image that becomes a small frame.
int pr_vips_load_shrunk(int format, const void *buf, size_t len, int shrink, pr_vips_image **out);
int pr_vips_width(pr_vips_image *image);
int pr_vips_height(pr_vips_image *image);
int pr_vips_has_alpha(pr_vips_image *image);
int pr_vips_avg(pr_vips_image *in, double *out);
int pr_vips_thumbnail(pr_vips_image *in, pr_vips_image **out, int width, int height, int crop);
int pr_vips_flatten(pr_vips_image *in, pr_vips_image **out);
int pr_vips_to_srgb(pr_vips_image *in, pr_vips_image **out);
int pr_vips_cast_uchar(pr_vips_image *in, pr_vips_image **out);
int pr_vips_letterbox(pr_vips_image *in, pr_vips_image **out, int width, int height);
int pr_vips_png(pr_vips_image *in, void **buf, size_t *len);
int pr_vips_jpeg(pr_vips_image *in, void **buf, size_t *len, int quality);

void pr_vips_unref(pr_vips_image *image);
void pr_vips_free(void *buffer);
// How many vips objects are alive (images, operations): tests use it to prove nothing leaks.
int pr_vips_live_objects(void);
// The last error's text, copied (free it with pr_vips_free); the buffer is cleared.
char *pr_vips_take_error(void);

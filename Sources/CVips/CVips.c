// Fixed-argument wrappers for libvips (see include/CVips.h).
#include <vips/vips.h>
#include "CVips.h"

// vips logs a warning for each damaged strip of a truncated upload; the load fails with its error anyway
// (fail_on), which is what the user is told, so the warnings would only flood the app's log.
static void pr_drop_warning(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data) {
    (void) domain; (void) level; (void) message; (void) data;
}

int pr_vips_init(void) {
    if (VIPS_INIT("promptreel") != 0) return -1;
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, pr_drop_warning, NULL);
    // No operation cache and one thread per pipeline: an upload's memory stays bounded by the strip
    // being decoded. Loaders outside the vetted set are blocked as well.
    vips_cache_set_max(0);
    vips_concurrency_set(1);
    vips_block_untrusted_set(TRUE);
    return 0;
}

// Pixels are decoded on demand (sequentially), and a truncated or corrupt file is an error, never grey.
int pr_vips_load(int format, const void *buf, size_t len, VipsImage **out) {
    void *b = (void *) buf;
    switch (format) {
    case 1: return vips_jpegload_buffer(b, len, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
    case 2: return vips_pngload_buffer(b, len, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
    case 3: return vips_webpload_buffer(b, len, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
    default: vips_error("promptreel", "unsupported format"); return -1;
    }
}

int pr_vips_width(VipsImage *image) { return vips_image_get_width(image); }
int pr_vips_height(VipsImage *image) { return vips_image_get_height(image); }
int pr_vips_has_alpha(VipsImage *image) { return vips_image_hasalpha(image); }
int pr_vips_avg(VipsImage *in, double *out) { return vips_avg(in, out, NULL); }

// crop: scale to cover width x height, then cut the centre; otherwise scale to fit inside.
int pr_vips_thumbnail(VipsImage *in, VipsImage **out, int width, int height, int crop) {
    if (crop) return vips_thumbnail_image(in, out, width, "height", height, "crop", VIPS_INTERESTING_CENTRE, NULL);
    return vips_thumbnail_image(in, out, width, "height", height, NULL);
}

int pr_vips_flatten(VipsImage *in, VipsImage **out) { return vips_flatten(in, out, NULL); }
int pr_vips_to_srgb(VipsImage *in, VipsImage **out) { return vips_colourspace(in, out, VIPS_INTERPRETATION_sRGB, NULL); }
int pr_vips_cast_uchar(VipsImage *in, VipsImage **out) { return vips_cast_uchar(in, out, NULL); }

// Centres the image on a black width x height canvas (the letterbox bars).
int pr_vips_letterbox(VipsImage *in, VipsImage **out, int width, int height) {
    return vips_gravity(in, out, VIPS_COMPASS_DIRECTION_CENTRE, width, height, "extend", VIPS_EXTEND_BLACK, NULL);
}

int pr_vips_png(VipsImage *in, void **buf, size_t *len) {
    return vips_pngsave_buffer(in, buf, len, "compression", 6, "strip", TRUE, NULL);
}

int pr_vips_jpeg(VipsImage *in, void **buf, size_t *len, int quality) {
    return vips_jpegsave_buffer(in, buf, len, "Q", quality, "strip", TRUE, NULL);
}

void pr_vips_unref(VipsImage *image) { g_object_unref(image); }
void pr_vips_free(void *buffer) { g_free(buffer); }

char *pr_vips_take_error(void) {
    char *copy = g_strdup(vips_error_buffer());
    vips_error_clear();
    return copy;
}

static void *pr_count_object(VipsObject *object, void *a, void *b) {
    (void) object; (void) b;
    *(int *) a += 1;
    return NULL;
}

int pr_vips_live_objects(void) {
    int count = 0;
    vips_object_map((VipsSListMap2Fn) pr_count_object, &count, NULL);
    return count;
}

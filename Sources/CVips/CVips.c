// Fixed-argument wrappers for libvips (see include/CVips.h).
//
// libvips is opened with dlopen on first use, not linked: it pulls in some sixty shared libraries
// (librsvg, OpenEXR, HDF5, poppler…) whose mapped pages would add ~12 MB to the RSS of every process,
// while only a process that handles a reference image needs them. The headers give the types; every
// call goes through a pointer resolved here.
#include <dlfcn.h>
#include <vips/vips.h>
#include "CVips.h"

#define PR_FN(name) static __typeof__(name) *p_##name
PR_FN(vips_init);
PR_FN(vips_cache_set_max);
PR_FN(vips_concurrency_set);
PR_FN(vips_block_untrusted_set);
PR_FN(vips_jpegload_buffer);
PR_FN(vips_pngload_buffer);
PR_FN(vips_webpload_buffer);
PR_FN(vips_image_get_width);
PR_FN(vips_image_get_height);
PR_FN(vips_image_hasalpha);
PR_FN(vips_avg);
PR_FN(vips_thumbnail_image);
PR_FN(vips_flatten);
PR_FN(vips_colourspace);
PR_FN(vips_cast_uchar);
PR_FN(vips_gravity);
PR_FN(vips_pngsave_buffer);
PR_FN(vips_jpegsave_buffer);
PR_FN(vips_error_buffer);
PR_FN(vips_error_clear);
PR_FN(vips_object_map);
PR_FN(g_object_unref);
PR_FN(g_free);
PR_FN(g_strdup);
PR_FN(g_log_set_handler);

// vips logs a warning for each damaged strip of a truncated upload; the load fails with its error anyway
// (fail_on), which is what the user is told, so the warnings would only flood the app's log.
static void pr_drop_warning(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data) {
    (void) domain; (void) level; (void) message; (void) data;
}

// Called once per process (Swift's lazy static). -1 when libvips is missing or too old.
int pr_vips_init(void) {
    void *lib = dlopen("libvips.so.42", RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = dlopen("libvips.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return -1;
    // dlsym on the handle also searches the libraries vips depends on (glib, gobject).
#define PR_LOAD(name) if (!(p_##name = (__typeof__(name) *) dlsym(lib, #name))) return -1
    PR_LOAD(vips_init); PR_LOAD(vips_cache_set_max); PR_LOAD(vips_concurrency_set); PR_LOAD(vips_block_untrusted_set);
    PR_LOAD(vips_jpegload_buffer); PR_LOAD(vips_pngload_buffer); PR_LOAD(vips_webpload_buffer);
    PR_LOAD(vips_image_get_width); PR_LOAD(vips_image_get_height); PR_LOAD(vips_image_hasalpha); PR_LOAD(vips_avg);
    PR_LOAD(vips_thumbnail_image); PR_LOAD(vips_flatten); PR_LOAD(vips_colourspace); PR_LOAD(vips_cast_uchar);
    PR_LOAD(vips_gravity); PR_LOAD(vips_pngsave_buffer); PR_LOAD(vips_jpegsave_buffer);
    PR_LOAD(vips_error_buffer); PR_LOAD(vips_error_clear); PR_LOAD(vips_object_map);
    PR_LOAD(g_object_unref); PR_LOAD(g_free); PR_LOAD(g_strdup); PR_LOAD(g_log_set_handler);
#undef PR_LOAD
    if (p_vips_init("promptreel") != 0) return -1;
    p_g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, pr_drop_warning, NULL);
    // No operation cache and one thread per pipeline: an upload's memory stays bounded by the strip
    // being decoded. Loaders outside the vetted set are blocked as well.
    p_vips_cache_set_max(0);
    p_vips_concurrency_set(1);
    p_vips_block_untrusted_set(TRUE);
    return 0;
}

// Pixels are decoded on demand (sequentially), and a truncated or corrupt file is an error, never grey.
int pr_vips_load(int format, const void *buf, size_t len, VipsImage **out) {
    void *b = (void *) buf;
    switch (format) {
    case 1: return p_vips_jpegload_buffer(b, len, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
    case 2: return p_vips_pngload_buffer(b, len, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
    case 3: return p_vips_webpload_buffer(b, len, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
    default: return -1;
    }
}

int pr_vips_load_shrunk(int format, const void *buf, size_t len, int shrink, VipsImage **out) {
    void *b = (void *) buf;
    if (shrink <= 1 || format == 2) return pr_vips_load(format, buf, len, out);
    switch (format) {
    case 1: return p_vips_jpegload_buffer(b, len, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR,
                                          "shrink", shrink, NULL);
    case 3: return p_vips_webpload_buffer(b, len, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR,
                                          "scale", 1.0 / shrink, NULL);
    default: return -1;
    }
}
int pr_vips_width(VipsImage *image) { return p_vips_image_get_width(image); }
int pr_vips_height(VipsImage *image) { return p_vips_image_get_height(image); }
int pr_vips_has_alpha(VipsImage *image) { return p_vips_image_hasalpha(image); }
int pr_vips_avg(VipsImage *in, double *out) { return p_vips_avg(in, out, NULL); }

// crop: scale to cover width x height, then cut the centre; otherwise scale to fit inside.
int pr_vips_thumbnail(VipsImage *in, VipsImage **out, int width, int height, int crop) {
    if (crop) return p_vips_thumbnail_image(in, out, width, "height", height, "crop", VIPS_INTERESTING_CENTRE, NULL);
    return p_vips_thumbnail_image(in, out, width, "height", height, NULL);
}

int pr_vips_flatten(VipsImage *in, VipsImage **out) { return p_vips_flatten(in, out, NULL); }
int pr_vips_to_srgb(VipsImage *in, VipsImage **out) { return p_vips_colourspace(in, out, VIPS_INTERPRETATION_sRGB, NULL); }
int pr_vips_cast_uchar(VipsImage *in, VipsImage **out) { return p_vips_cast_uchar(in, out, NULL); }

// Centres the image on a black width x height canvas (the letterbox bars).
int pr_vips_letterbox(VipsImage *in, VipsImage **out, int width, int height) {
    return p_vips_gravity(in, out, VIPS_COMPASS_DIRECTION_CENTRE, width, height, "extend", VIPS_EXTEND_BLACK, NULL);
}

int pr_vips_png(VipsImage *in, void **buf, size_t *len) {
    return p_vips_pngsave_buffer(in, buf, len, "compression", 6, "strip", TRUE, NULL);
}

int pr_vips_jpeg(VipsImage *in, void **buf, size_t *len, int quality) {
    return p_vips_jpegsave_buffer(in, buf, len, "Q", quality, "strip", TRUE, NULL);
}

void pr_vips_unref(VipsImage *image) { p_g_object_unref(image); }
void pr_vips_free(void *buffer) { p_g_free(buffer); }

char *pr_vips_take_error(void) {
    char *copy = p_g_strdup(p_vips_error_buffer());
    p_vips_error_clear();
    return copy;
}

static void *pr_count_object(VipsObject *object, void *a, void *b) {
    (void) object; (void) b;
    *(int *) a += 1;
    return NULL;
}

int pr_vips_live_objects(void) {
    if (!p_vips_object_map) return 0;
    int count = 0;
    p_vips_object_map((VipsSListMap2Fn) pr_count_object, &count, NULL);
    return count;
}

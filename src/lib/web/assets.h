/* The page, script and style of the dashboard, embedded at build time from web/ (the
 * generated web_assets.c, cmake/embed.cmake). Each is NUL-terminated; _len excludes it. */
#ifndef IMGPIPE_WEB_ASSETS_H
#define IMGPIPE_WEB_ASSETS_H

#include <stddef.h>

extern const unsigned char web_asset_index_html[], web_asset_app_js[], web_asset_app_css[];
extern const size_t web_asset_index_html_len, web_asset_app_js_len, web_asset_app_css_len;

#endif

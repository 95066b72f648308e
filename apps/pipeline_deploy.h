/* The pipeline's last steps toward a device (apps/pipeline_deploy.c): the
 * trained network exported to ONNX (model.onnx) and the found network's
 * latency predicted by every table the run was given (predictions.json),
 * both shown by the report (apps/report_deploy.c). */
#ifndef ASVK_APPS_PIPELINE_DEPLOY_H
#define ASVK_APPS_PIPELINE_DEPLOY_H

#include "apps/cli.h"

/* dir/model.onnx from dir/train/model.safetensors (kept when it exists: resume). */
int pipeline_export(const cli_args *a, const char *dir);
/* dir/predictions.json: the found network (dir/search/net.json) priced by
 * dir/latency.json and by each table of `luts` (comma-separated, may be
 * empty); a table that cannot price it is listed with the reason. */
asvk_status pipeline_predictions(const char *dir, const char *luts);

#endif

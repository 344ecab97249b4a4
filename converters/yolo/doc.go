// Package yolo is the first-party YOLO export converter (labelhub plugin
// serve yolo). Its zip holds:
//
//   - labels/<stem>.txt for every image with a size in its metadata: one
//     line per object, "class cx cy w h" (mode detect) or "class x1 y1 x2
//     y2 …" (mode segment), class counting from 0 in the order of
//     classes.txt and every coordinate divided by the image's width or
//     height, clamped to [0, 1], with 6 decimals; an image without objects
//     has an empty file;
//   - classes.txt, one class name a line, and data.yaml (path, train and
//     val set to images, nc and names in class order), for Ultralytics-style
//     trainers;
//   - images.txt, one line per image: "images/<stem><ext>", a tab and the
//     image's URL (signed for private buckets), so that the images can be
//     fetched next to their labels.
//
// Images without a size, objects without an area (points, polylines, text
// spans…), outlines outside the image and segmentation holes are reported
// in the run's log and result, never dropped silently.
package yolo

// Package voc is the first-party Pascal VOC export converter (labelhub
// plugin serve voc). Its zip holds:
//
//   - Annotations/<stem>.xml for every image with a size in its metadata:
//     annotation with folder (JPEGImages), filename (<stem><ext>), path
//     (the image's URL, signed for private buckets), source (database
//     "labelhub", the project's name, the asset's externalId), size
//     (width, height, depth 3), segmented 0, and one object per exported
//     object: name (its tool's title), pose Unspecified, truncated (1 when
//     the box was clipped to the image), difficult 0 and bndbox;
//   - ImageSets/Main/default.txt, the stems one a line;
//   - labels.txt, the class names one a line;
//   - images.txt, one line per image: "JPEGImages/<stem><ext>", a tab and
//     the image's URL, to fetch the images next to the annotations.
//
// bndbox follows VOC's convention: integer pixel indices counted from 1,
// inclusive. A shape from x to x+width covers the pixels floor(x)+1 to
// ceil(x+width), clipped to the image, so 1 ≤ xmin < xmax ≤ width (and
// likewise for y). Polygons, rotated boxes and segmentations (all their
// zones) are written as the box that encloses them. Points, polylines and
// other shapes without an area, shapes outside the image or less than 2
// pixels wide or high, and images without a size are reported in the
// run's log and result, never dropped silently.
package voc

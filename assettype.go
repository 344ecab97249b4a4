package labelhub

import (
	"path"
	"strings"
)

// AssetType is the kind of file an asset is; it decides how the asset is
// shown and which tools apply.
type AssetType string

// The asset types (formats.md §1).
const (
	AssetImage      AssetType = "image"
	AssetVideo      AssetType = "video"
	AssetAudio      AssetType = "audio"
	AssetPDF        AssetType = "pdf"
	AssetText       AssetType = "text"
	AssetDICOM      AssetType = "dicom"
	AssetPointCloud AssetType = "point-cloud"
)

var assetTypeByExt = map[string]AssetType{
	"jpg": AssetImage, "jpeg": AssetImage, "png": AssetImage, "bmp": AssetImage, "gif": AssetImage,
	"webp": AssetImage, "tif": AssetImage, "tiff": AssetImage,
	"mp4": AssetVideo, "mov": AssetVideo, "webm": AssetVideo, "mkv": AssetVideo, "avi": AssetVideo,
	"mp3": AssetAudio, "wav": AssetAudio, "ogg": AssetAudio, "flac": AssetAudio, "m4a": AssetAudio,
	"pdf": AssetPDF,
	"txt": AssetText, "md": AssetText, "html": AssetText, "htm": AssetText,
	"dcm": AssetDICOM,
	"pcd": AssetPointCloud, "las": AssetPointCloud,
}

var assetTypeByContentType = map[string]AssetType{
	"application/pdf": AssetPDF, "application/dicom": AssetDICOM,
	"text/plain": AssetText, "text/markdown": AssetText, "text/html": AssetText,
}

// AssetTypeOf decides an asset's type from the extension of the last path
// segment of name (an object key or a URL path, case-insensitive), else
// from a content type; "" when neither names a supported type.
func AssetTypeOf(name, contentType string) AssetType {
	if ext := strings.TrimPrefix(path.Ext(name), "."); ext != "" {
		if t, ok := assetTypeByExt[strings.ToLower(ext)]; ok {
			return t
		}
	}
	ct, _, _ := strings.Cut(strings.ToLower(contentType), ";")
	ct = strings.TrimSpace(ct)
	if t, ok := assetTypeByContentType[ct]; ok {
		return t
	}
	switch {
	case strings.HasPrefix(ct, "image/"):
		return AssetImage
	case strings.HasPrefix(ct, "video/"):
		return AssetVideo
	case strings.HasPrefix(ct, "audio/"):
		return AssetAudio
	}
	return ""
}

package firstparty

import (
	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/converters/coco"
	"github.com/labelhub/labelhub/converters/csvexport"
	"github.com/labelhub/labelhub/converters/voc"
	"github.com/labelhub/labelhub/converters/yolo"
	"github.com/labelhub/labelhub/fileexplorer"
)

// list holds the first-party plugins: one entry per package, each built
// from that package's Name, Title, Description, DefaultConfig and Handler.
var list = []Plugin{
	{Name: coco.Name, Title: coco.Title, Description: coco.Description, DefaultConfig: coco.DefaultConfig, Type: labelhub.PluginExport, Handler: coco.Handler},
	{Name: csvexport.Name, Title: csvexport.Title, Description: csvexport.Description, DefaultConfig: csvexport.DefaultConfig, Type: labelhub.PluginExport, Handler: csvexport.Handler},
	{Name: yolo.Name, Title: yolo.Title, Description: yolo.Description, DefaultConfig: yolo.DefaultConfig, Type: labelhub.PluginExport, Handler: yolo.Handler},
	{Name: voc.Name, Title: voc.Title, Description: voc.Description, DefaultConfig: voc.DefaultConfig, Type: labelhub.PluginExport, Handler: voc.Handler},
	{Name: fileexplorer.Name, Title: fileexplorer.Title, Description: fileexplorer.Description, DefaultConfig: fileexplorer.DefaultConfig, Type: labelhub.PluginFileExplorer, Handler: fileexplorer.Handler},
}

// WebChannel: where the widget's static files are. They ship as SwiftPM resources of this
// target (the folder Channels/Web/widget), so a built binary finds them beside itself.
import Foundation

/// Locations of the web channel's static files.
public enum WebAssets {
    /// The folder holding the widget page and its script.
    public static var widgetDirectory: String? {
        Bundle.module.resourceURL?.appendingPathComponent("widget").path
    }
}

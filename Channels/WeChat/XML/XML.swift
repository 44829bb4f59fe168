// WeChatChannel: the element tree the XML reader returns, and its limits. Value types; any
// thread. The reader is XMLReader.swift; the writer XMLWriter.swift.

/// A small, safe XML subset for WeChat messages: elements, attributes (read and dropped),
/// character data, CDATA sections, comments, the five predefined entities and character
/// references. No DTD, no other entities, no processing instructions (so no XXE and no entity
/// expansion), UTF-8 only, and every size bounded.
public enum XML {
    /// One element: its name, its own character data and its child elements.
    public struct Element: Sendable, Equatable {
        /// The tag name, prefix included (`a:b`); namespaces are not interpreted.
        public var name: String
        /// The element's direct character data, text and CDATA joined in document order, with
        /// references resolved and line ends normalised to LF (XML 1.0 §2.11). Whitespace is
        /// kept as written.
        public var text: String
        /// The child elements, in document order.
        public var children: [Element]

        /// An element named `name` with `text` and `children`.
        public init(name: String, text: String = "", children: [Element] = []) {
            self.name = name
            self.text = text
            self.children = children
        }

        /// The first child named `name`.
        public func child(_ name: String) -> Element? {
            children.first { $0.name == name }
        }

        /// The text of the first child named `name`.
        public func childText(_ name: String) -> String? {
            child(name)?.text
        }
    }

    /// Bounds on what the reader accepts; each has a clear error.
    public struct Limits: Sendable, Equatable {
        /// The whole document, in bytes.
        public var maxBytes: Int
        /// Nesting of elements (the root is depth 1).
        public var maxDepth: Int
        /// Elements in the document.
        public var maxElements: Int
        /// One element or attribute name, in bytes.
        public var maxNameBytes: Int
        /// Attributes on one element.
        public var maxAttributes: Int

        /// Defaults that fit WeChat messages (depth 2, about 10 elements) with a wide margin.
        public init(maxBytes: Int = 1 << 20, maxDepth: Int = 16, maxElements: Int = 4096,
                    maxNameBytes: Int = 128, maxAttributes: Int = 16) {
            self.maxBytes = maxBytes
            self.maxDepth = maxDepth
            self.maxElements = maxElements
            self.maxNameBytes = maxNameBytes
            self.maxAttributes = maxAttributes
        }
    }

    /// The root element of `bytes`, or the first problem found.
    public static func parse(_ bytes: [UInt8], limits: Limits = Limits()) throws(XMLError) -> Element {
        var reader = try XMLReader(bytes, limits: limits)
        return try reader.document()
    }

    /// The root element of `text`.
    public static func parse(_ text: String, limits: Limits = Limits()) throws(XMLError) -> Element {
        try parse(Array(text.utf8), limits: limits)
    }
}

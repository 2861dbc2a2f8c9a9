// How a typed id reaches a page and the JSON API: as its number, and nothing else.

import Core
import Formats
import Web

extension JSON {
    static func id<Entity>(_ id: ID<Entity>) -> JSON { .int(id.rawValue) }
}

extension HTML.Interpolation {
    mutating func appendInterpolation<Entity>(_ id: ID<Entity>) { appendInterpolation(id.rawValue) }
}

// The usage area's routes: each path parsed and printed in one place, and the handlers that answer it.

import Core
import Web

package enum UsageRoute: Equatable, Sendable {
    /// Spend and outcomes over a range of UTC days (`?from=&to=&scope=`), as a page and as CSV.
    case usage
    case usageCSV
    /// GET `?from=&to=&group_by=day|model|project|user&scope=`.
    case apiUsage

    init?(_ p: PathParts) {
        switch p.segments {
        case ["usage"]: self = .usage
        case ["usage.csv"]: self = .usageCSV
        case ["api", "usage"]: self = .apiUsage
        default: return nil
        }
    }

    var path: String {
        switch self {
        case .usage: "/usage"
        case .usageCSV: "/usage.csv"
        case .apiUsage: "/api/usage"
        }
    }

    /// Which methods each route answers, and with what.
    var handlers: [HTTPMethod: App.Handler] {
        switch self {
        case .usage: [.get: UsagePages.page]
        case .usageCSV: [.get: UsagePages.csv]
        case .apiUsage: [.get: UsageAPI.show]
        }
    }
}

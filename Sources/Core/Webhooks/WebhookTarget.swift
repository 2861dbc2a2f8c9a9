// Where a webhook may go: a strict URL parser (http/https, an ASCII host, no credentials) and the SSRF
// rule — after DNS resolution, an address that is loopback, private, link-local (cloud metadata
// included), shared (CGNAT), unspecified, multicast or reserved is refused, also inside the IPv6 forms
// that embed an IPv4 address. Pure Swift apart from `resolve` (getaddrinfo), so the rule is unit-tested
// as a table.

import Glibc

/// A webhook URL, parsed strictly enough that curl cannot read a different host out of it: the host is
/// an ASCII name or an IP literal, there are no credentials, spaces, backslashes or fragments.
package struct WebhookURL: Equatable, Sendable {
    package enum Scheme: String, Sendable { case http, https }
    package let scheme: Scheme
    /// Lowercased name, dotted IPv4, or IPv6 without brackets.
    package let host: String
    package let port: Int
    /// From the first "/" or "?" on ("/" when empty).
    package let pathAndQuery: String
    package let literalAddress: IPAddress?

    package static let maxLength = 2000

    package enum Invalid: Error, Equatable, Sendable {
        case tooLong, scheme, credentials, host, port, characters, fragment

        package var message: String {
            switch self {
            case .tooLong: "must be at most \(WebhookURL.maxLength) characters"
            case .scheme: "must start with https:// (or http://)"
            case .credentials: "must not contain a user name or password"
            case .host: "must name a host: letters, digits, dots and hyphens, or an IP address"
            case .port: "has an invalid port"
            case .characters: "must not contain spaces, backslashes, control or non-ASCII characters"
            case .fragment: "must not contain a #fragment"
            }
        }
    }

    package init(parsing raw: String) throws(Invalid) {
        guard raw.utf8.count <= WebhookURL.maxLength else { throw .tooLong }
        guard raw.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "\\" }) else {
            throw .characters
        }
        guard !raw.contains("#") else { throw .fragment }
        let lower = raw.lowercased()
        let scheme: Scheme
        if lower.hasPrefix("https://") {
            scheme = .https
        } else if lower.hasPrefix("http://") {
            scheme = .http
        } else {
            throw .scheme
        }
        let rest = raw.dropFirst(scheme.rawValue.count + 3)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let path = String(rest[authorityEnd...])
        guard !authority.contains("@") else { throw .credentials }
        var hostText: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .host }
            hostText = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .host }
                portText = after.dropFirst()
            }
            guard let v6 = IPAddress(parsing: String(hostText)), v6.isV6 else { throw .host }
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw .host }
            hostText = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
            let labels = hostText.split(separator: ".", omittingEmptySubsequences: false)
            let nameLike =
                hostText.utf8.count <= 253
                && labels.allSatisfy { label in
                    !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                        && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
                }
            // inet_aton reads "0x7f.1" or "2130706433" as addresses: never a name here.
            var numeric = in_addr()
            guard nameLike,
                inet_aton(String(hostText), &numeric) == 0 || hostText.allSatisfy({ $0.isNumber || $0 == "." })
            else { throw .host }
        }
        var port = scheme == .https ? 443 : 80
        if let portText {
            // Digits only: Int() would also take "+80".
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                let p = Int(portText),
                (1...65535).contains(p)
            else {
                throw .port
            }
            port = p
        }
        self.scheme = scheme
        self.host = hostText.lowercased()
        self.port = port
        self.pathAndQuery = path.isEmpty ? "/" : (path.hasPrefix("?") ? "/" + path : path)
        // A name made only of digits and dots is an IPv4 literal (or nonsense): never a name to look up.
        if host.allSatisfy({ $0.isNumber || $0 == "." }) {
            guard let v4 = IPAddress(parsing: host), !v4.isV6 else { throw .host }
            literalAddress = v4
        } else {
            literalAddress = IPAddress(parsing: host)
        }
        // Normalizing may add a "/" (or drop a default port): the stored URL must fit too.
        guard normalized.utf8.count <= WebhookURL.maxLength else { throw .tooLong }
    }

    /// The host as it goes in a URL (IPv6 in brackets).
    package var urlHost: String { literalAddress?.isV6 == true ? "[\(host)]" : host }

    /// The URL curl is given: rebuilt from the checked parts, so it names exactly the checked host.
    package var normalized: String {
        let defaultPort = scheme == .https ? 443 : 80
        return "\(scheme.rawValue)://\(urlHost)\(port == defaultPort ? "" : ":\(port)")\(pathAndQuery)"
    }

    /// Why a host is refused before any lookup: an address literal's refusal, or `localhost` (nil: ask DNS).
    package var obviousRefusal: AddressRefusal? {
        if let literalAddress { return literalAddress.refusal }
        return host == "localhost" || host.hasSuffix(".localhost") ? .loopback : nil
    }
}

/// An IPv4 (4 bytes) or IPv6 (16 bytes) address.
package struct IPAddress: Equatable, Sendable, CustomStringConvertible {
    package let bytes: [UInt8]
    package var isV6: Bool { bytes.count == 16 }

    package init(v4 a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) { bytes = [a, b, c, d] }
    package init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Strict textual forms only (inet_pton: dotted quad, or IPv6 without a zone).
    package init?(parsing text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
            return
        }
        return nil
    }

    package var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = isV6 ? AF_INET6 : AF_INET
        let ok = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) } != nil
        return ok ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
    }

    /// Why a webhook may not connect here (nil: a public address).
    package var refusal: AddressRefusal? {
        isV6 ? Self.classifyV6(bytes) : Self.classifyV4(bytes)
    }

    private static func classifyV4(_ b: [UInt8]) -> AddressRefusal? {
        switch (b[0], b[1]) {
        case (0, _): return .unspecified  // 0.0.0.0/8, "this network"
        case (127, _): return .loopback
        case (10, _), (172, 16...31), (192, 168): return .privateNetwork
        case (169, 254): return .linkLocal  // includes 169.254.169.254, cloud metadata
        case (100, 64...127): return .sharedAddressSpace  // CGNAT, RFC 6598
        case (192, 0) where b[2] == 0: return .reserved  // IETF protocol assignments (RFC 6890)
        case (198, 18...19): return .reserved  // benchmarking
        case (192, 0) where b[2] == 2, (198, 51) where b[2] == 100, (203, 0) where b[2] == 113:
            return .documentation  // TEST-NET-1, -2, -3 (RFC 5737)
        case (192, 88) where b[2] == 99: return .reserved  // the retired 6to4 relay anycast (RFC 7526)
        case (224...239, _): return .multicast
        case (240...255, _): return .reserved  // incl. broadcast 255.255.255.255
        default: return nil
        }
    }

    private static func classifyV6(_ b: [UInt8]) -> AddressRefusal? {
        let embedded = IPAddress(v4: b[12], b[13], b[14], b[15])
        let zeros10 = b[0..<10].allSatisfy { $0 == 0 }
        if b.allSatisfy({ $0 == 0 }) { return .unspecified }  // ::
        if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return .loopback }  // ::1
        if zeros10 && b[10] == 0xFF && b[11] == 0xFF { return embedded.refusal }  // ::ffff:a.b.c.d, IPv4-mapped
        // ::ffff:0:a.b.c.d, SIIT's IPv4-translated form (RFC 2765): a host behind a translator, never a public one
        if b[0..<8].allSatisfy({ $0 == 0 }) && b[8] == 0xFF && b[9] == 0xFF && b[10] == 0 && b[11] == 0 {
            return .reserved
        }
        // ::a.b.c.d, deprecated IPv4-compatible
        if zeros10 && b[10] == 0 && b[11] == 0 { return embedded.refusal ?? .reserved }
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && b[4..<12].allSatisfy({ $0 == 0 }) {
            return embedded.refusal  // 64:ff9b::/96, NAT64 of an IPv4 address
        }
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && b[4] == 0 && b[5] == 1 {
            // 64:ff9b:1::/48, local-use NAT64 (RFC 8215). Judged by the embedded IPv4 address as 64:ff9b::/96
            // is; the IPv4 address sits where the operator's prefix length puts it (RFC 6052 §2.2), so a
            // longer-than-/96 form is refused when any of the /48, /56 or /64 readings is.
            if b[6..<12].allSatisfy({ $0 == 0 }) { return embedded.refusal }
            let readings = [[6, 7, 9, 10], [7, 9, 10, 11], [9, 10, 11, 12]]
            return readings.lazy.compactMap { i in IPAddress(v4: b[i[0]], b[i[1]], b[i[2]], b[i[3]]).refusal }.first
        }
        if b[0] == 0x20 && b[1] == 0x02 { return IPAddress(v4: b[2], b[3], b[4], b[5]).refusal }  // 2002::/16, 6to4
        if b[0] & 0xFE == 0xFC { return .privateNetwork }  // fc00::/7, unique local
        if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return .linkLocal }  // fe80::/10
        if b[0] == 0xFE && b[1] & 0xC0 == 0xC0 { return .privateNetwork }  // fec0::/10, old site-local
        if b[0] == 0xFF { return .multicast }
        if b[0] == 0x01 && b[1..<8].allSatisfy({ $0 == 0 }) { return .reserved }  // 100::/64, discard-only
        // The IANA IPv6 special-purpose registry: 2001::/23 (IETF protocol assignments, Teredo's 2001::/32 with
        // its obscured IPv4 address among them), 5f00::/16 (SRv6 SIDs) are not public hosts; 2001:db8::/32 and
        // 3fff::/20 are for documentation.
        if b[0] == 0x20 && b[1] == 0x01 && b[2] & 0xFE == 0 { return .reserved }
        if b[0] == 0x5F && b[1] == 0x00 { return .reserved }
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8 { return .documentation }
        if b[0] == 0x3F && b[1] == 0xFF && b[2] & 0xF0 == 0 { return .documentation }
        return nil
    }
}

package enum AddressRefusal: String, Equatable, Sendable {
    case loopback, privateNetwork = "private", linkLocal = "link-local", sharedAddressSpace = "shared (CGNAT)"
    case unspecified, multicast, reserved, documentation

    package var sentence: String { "a \(rawValue) address" }

    /// The networks a receiver can really run on (this host, a LAN, a carrier's): what
    /// PROMPTREEL_WEBHOOKS_ALLOW_PRIVATE allows. Unspecified, multicast, reserved and documentation addresses
    /// (SIIT, Teredo, TEST-NETs…) are never a receiver and stay refused.
    package var isLocalNetwork: Bool {
        switch self {
        case .loopback, .privateNetwork, .linkLocal, .sharedAddressSpace: true
        case .unspecified, .multicast, .reserved, .documentation: false
        }
    }
}

/// Resolution for a delivery: the addresses getaddrinfo gives for the host, each checked; the connection is
/// then pinned to them.
package enum WebhookResolution {
    package enum Failure: Error, Equatable, Sendable {
        case unresolvable(String)
        /// The host is (or resolves to) an address webhooks may not reach.
        case refused(IPAddress, AddressRefusal)

        package var message: String {
            switch self {
            case let .unresolvable(why): "could not resolve the host: \(why)"
            // Shown to the user: the category, never the resolved (internal) address; the log has that.
            case let .refused(_, why): "refused: the host resolves to \(why.sentence), which webhooks may not reach"
            }
        }

        /// The detail for the log (the refused address and how to allow it).
        package var logDetail: String? {
            guard case let .refused(address, why) = self else { return nil }
            return "\(address) is \(why.sentence); PROMPTREEL_WEBHOOKS_ALLOW_PRIVATE=1 allows it"
        }
    }

    /// The addresses to connect to. Every address the name has must be allowed (a name that mixes public
    /// and private addresses is refused).
    package static func addresses(for url: WebhookURL, allowPrivate: Bool) throws(Failure) -> [IPAddress] {
        let addresses: [IPAddress]
        if let literal = url.literalAddress { addresses = [literal] } else { addresses = try lookUp(url.host) }
        guard !addresses.isEmpty else { throw .unresolvable("no addresses") }
        for address in addresses {
            if let why = address.refusal, !(allowPrivate && why.isLocalNetwork) { throw .refused(address, why) }
        }
        return addresses
    }

    package static func lookUp(_ host: String) throws(Failure) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &list)
        guard rc == 0 else { throw .unresolvable(String(cString: gai_strerror(rc))) }
        defer { freeaddrinfo(list) }
        var found: [IPAddress] = []
        var node = list
        while let entry = node?.pointee {
            if entry.ai_family == AF_INET, let sa = entry.ai_addr {
                let address = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
                    withUnsafeBytes(of: p.pointee.sin_addr) { IPAddress(bytes: Array($0)) }
                }
                if let address, !found.contains(address) { found.append(address) }
            } else if entry.ai_family == AF_INET6, let sa = entry.ai_addr {
                let address = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                    withUnsafeBytes(of: p.pointee.sin6_addr) { IPAddress(bytes: Array($0)) }
                }
                if let address, !found.contains(address) { found.append(address) }
            }
            node = entry.ai_next
        }
        return found
    }
}

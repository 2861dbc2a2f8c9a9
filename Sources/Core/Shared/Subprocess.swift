// Runs a helper program (ffmpeg) from a worker thread: posix_spawn with an argument array (never a
// shell), no inherited descriptors or environment (the server's sockets and secrets stay in the server),
// default signals (the server ignores SIGPIPE and blocks SIGTERM in its threads), a time limit, and at
// most `maxOutput` bytes of its stdout and stderr kept (the rest is read and dropped, so it never blocks).

import Foundation
import Glibc

package enum Subprocess {
    package enum Outcome: Sendable, Equatable {
        /// It ran to the end: its exit status (128 + n when signal n ended it) and the start of its output.
        case exited(status: Int32, output: String)
        /// Still running at the deadline: killed (SIGKILL) and reaped.
        case timedOut(output: String)
        /// posix_spawn failed (the errno): missing program, no memory, too many processes.
        case cannotStart(Int32)

        /// Why the run is not a success, in words for a log or an error message (nil: it exited with 0).
        package func failure(_ program: String, timeoutSeconds: Double) -> String? {
            switch self {
            case let .cannotStart(code): "cannot run \(program): \(String(cString: strerror(code)))"
            case .timedOut: "\((program as NSString).lastPathComponent) took longer than \(Int(timeoutSeconds)) s"
            case let .exited(status, log) where status != 0:
                "\((program as NSString).lastPathComponent) exited with \(status): \(log.prefix(300))"
            case .exited: nil
            }
        }
    }

    /// `environment`: variables the child gets besides `PATH` and `LC_ALL` (nothing else of ours is passed on).
    package static func run(
        _ executable: String, _ arguments: [String], timeoutSeconds: Double, maxOutput: Int = 4096,
        environment: [String: String] = [:]
    ) -> Outcome {
        var pipeEnds: [Int32] = [-1, -1]
        guard Self.closeOnExecPipe(&pipeEnds) == 0 else { return .cannotStart(errno) }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 2)
        if let closeFrom = Self.closeFrom { _ = closeFrom(&actions, 3) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let variables: [String] =
            ["PATH=/usr/bin:/bin", "LC_ALL=C"] + environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let envp: [UnsafeMutablePointer<CChar>?] = variables.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(writeEnd)
        guard spawned == 0 else {
            close(readEnd)
            return .cannotStart(spawned)
        }

        let deadline = ContinuousClock.now + .milliseconds(Int(timeoutSeconds * 1000))
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var pipeOpen = true
        var status: Int32 = 0
        while true {
            if !pipeOpen {
                let reaped = waitpid(pid, &status, WNOHANG)
                if reaped == pid { break }
                // The child cannot be waited for (never expected): not a success, whatever it did.
                if reaped < 0 && errno != EINTR { return .exited(status: -1, output: text(output)) }
            }
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                if pipeOpen { close(readEnd) }
                return .timedOut(output: text(output))
            }
            guard pipeOpen else {
                usleep(10_000)
                continue
            }
            var ready = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 50) > 0 else { continue }
            let n = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if n > 0 {
                output += chunk[0..<min(n, max(0, maxOutput - output.count))]
            } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                close(readEnd)
                pipeOpen = false
            }
        }
        // Exited normally: its code; ended by a signal: 128 + the signal, as shells report it.
        let signal = status & 0x7f
        return .exited(status: signal == 0 ? (status >> 8) & 0xff : 128 + signal, output: text(output))
    }

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34+), which Swift's Glibc module does not
    /// import (a GNU extension); without it only close-on-exec descriptors are kept from the child.
    private static let closeFrom:
        (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32)? = {
            guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
            return unsafeBitCast(
                symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32).self)
        }()

    /// pipe2(O_CLOEXEC), also a GNU extension: atomic, so a process another thread starts meanwhile
    /// cannot inherit the write end (and hold the pipe open until it exits).
    private static func closeOnExecPipe(_ ends: inout [Int32]) -> Int32 {
        typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
        if let symbol = dlsym(nil, "pipe2") {
            return unsafeBitCast(symbol, to: Pipe2.self)(&ends, O_CLOEXEC)
        }
        guard pipe(&ends) == 0 else { return -1 }
        for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return 0
    }

    private static func text(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

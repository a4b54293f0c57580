import Foundation
import NIOCore
import NIOConcurrencyHelpers

/// Tells when the client of a connection goes away, even while the server writes nothing (a prompt
/// being evaluated), so that its request can leave its slot at once.
///
/// A handler put first in the connection's pipeline asks for one read (the HTTP pipelining handler
/// further in holds reads back while a response is pending, and a read from the first handler
/// does not pass through it); the end of input that follows a client's close arrives as
/// `ChannelEvent.inputClosed` (the server allows half-closure) or as the channel going inactive.
final class DisconnectWatch: Sendable {
    // Invariant for Sendable: `state` is touched only with its lock held.
    private let state = NIOLockedValueBox<(closed: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Returns when the client is gone (or at once if it already is). Cancelling the waiting task
    /// does not end the wait: race it against the work in a task group.
    func closed() async {
        await withCheckedContinuation { c in
            let resume: Bool = state.withLockedValue { s in
                if s.closed { return true }
                s.waiters.append(c)
                return false
            }
            if resume { c.resume() }
        }
    }

    fileprivate func signal() {
        let waiters = state.withLockedValue { s -> [CheckedContinuation<Void, Never>] in
            if s.closed { return [] }
            s.closed = true
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }

    /// Releases the waiters without a disconnect (the response is complete).
    func release() { signal() }

    /// Watches `channel` until ``stop(_:)``; nil when the channel is already closed.
    static func start(on channel: any Channel) async -> (watch: DisconnectWatch, handler: Watcher)? {
        let watch = DisconnectWatch()
        let handler = try? await channel.eventLoop.submit { () throws -> Watcher in
            let h = Watcher(watch)
            try channel.pipeline.syncOperations.addHandler(h, position: .first)
            return h
        }.get()
        guard let handler else { return nil }
        return (watch, handler)
    }

    /// Takes the watcher out of the pipeline (the connection may serve further requests).
    static func stop(_ handler: Watcher, on channel: any Channel) {
        channel.eventLoop.execute {
            channel.pipeline.syncOperations.removeHandler(handler, promise: nil)
        }
    }

    /// The pipeline's first handler while a request is served.
    ///
    /// Invariant for `@unchecked Sendable`: it has no mutable state; it is added, used and removed
    /// on its channel's event loop only.
    final class Watcher: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
        typealias InboundIn = NIOAny
        typealias InboundOut = NIOAny
        private let watch: DisconnectWatch

        init(_ watch: DisconnectWatch) { self.watch = watch }

        func handlerAdded(context: ChannelHandlerContext) {
            if !context.channel.isActive { watch.signal() }
            context.read()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.fireChannelRead(data)
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let e = event as? ChannelEvent, e == .inputClosed { watch.signal() }
            context.fireUserInboundEventTriggered(event)
        }

        func channelInactive(context: ChannelHandlerContext) {
            watch.signal()
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            watch.signal()
            context.fireErrorCaught(error)
        }
    }
}

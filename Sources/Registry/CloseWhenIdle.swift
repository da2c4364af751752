import NIOCore

/// Closes a connection once ``IdleStateHandler`` reports `event`, first passing an
/// ``IdleTimeout`` down the pipeline so that whoever reads the connection hears why it ended
/// (the blob download turns it into "timed out"; the server just stops serving it).
final class CloseWhenIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    struct IdleTimeout: Error, CustomStringConvertible {
        var description: String { "idle timeout" }
    }

    private let event: IdleStateHandler.IdleStateEvent

    init(on event: IdleStateHandler.IdleStateEvent) {
        self.event = event
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event as? IdleStateHandler.IdleStateEvent == self.event {
            context.fireErrorCaught(IdleTimeout())
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

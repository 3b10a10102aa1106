import HubCore

/// The hub components that can subscribe to the local bus.
public enum ComponentID: String, CaseIterable, Sendable {
    case sensor
    case inference
    case display
    case uplink
}

/// Routes bus messages to the subscriptions whose filter matches, in subscription order.
///
/// Pure and synchronous: it answers "who gets this"; the hub delivers through a FIFO so
/// every subscriber sees messages in publish order. Subscriptions live in an array, not a
/// dictionary, because delivery order is observable.
public struct BusRouter: Sendable {
    public struct Subscription: Sendable {
        public var subscriber: ComponentID
        public var filter: TopicFilter
    }

    public private(set) var subscriptions: [Subscription] = []
    /// Answers already worked out, by topic name. Only looked up, never iterated; cleared
    /// whenever the subscriptions change.
    private var routes: [String: [ComponentID]] = [:]

    public init() {}

    public mutating func subscribe(_ subscriber: ComponentID, to filter: TopicFilter) {
        subscriptions.append(Subscription(subscriber: subscriber, filter: filter))
        routes.removeAll()
    }

    /// `subscribers(for:)`, remembered: a hub publishes on a handful of topics millions of times.
    public mutating func route(_ topic: Topic) -> [ComponentID] {
        if let known = routes[topic.name] { return known }
        let answer = subscribers(for: topic)
        routes[topic.name] = answer
        return answer
    }

    /// Each subscriber at most once per message, even if several of its filters match.
    public func subscribers(for topic: Topic) -> [ComponentID] {
        var result: [ComponentID] = []
        for subscription in subscriptions where subscription.filter.matches(topic) {
            if !result.contains(subscription.subscriber) { result.append(subscription.subscriber) }
        }
        return result
    }
}

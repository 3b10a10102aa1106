import HubCore

/// Routes bus messages to the subscriptions whose filter matches, in subscription order.
///
/// Pure and synchronous: it answers "who gets this"; the hub delivers through a FIFO so
/// every subscriber sees messages in publish order. Subscriptions live in an array, not a
/// dictionary, because delivery order is observable.
///
/// Subscribers are numbers — a component's place in its host — so the router knows no
/// component by name and a new component needs no change here.
public struct BusRouter: Sendable {
    public struct Subscription: Sendable {
        public var subscriber: Int
        public var filter: TopicFilter
    }

    public private(set) var subscriptions: [Subscription] = []
    /// Answers already worked out, by topic name. Only looked up, never iterated; cleared
    /// whenever the subscriptions change.
    private var routes: [String: [Int]] = [:]

    public init() {}

    public mutating func subscribe(_ subscriber: Int, to filter: TopicFilter) {
        subscriptions.append(Subscription(subscriber: subscriber, filter: filter))
        routes.removeAll()
    }

    /// Replaces `subscriber`'s subscriptions with `filters`, where its first one was (so the
    /// order in which subscribers of a topic hear a message stays as it was).
    public mutating func setSubscriptions(_ subscriber: Int, to filters: [TopicFilter]) {
        let place = subscriptions.firstIndex { $0.subscriber == subscriber } ?? subscriptions.count
        let before = subscriptions[..<place].filter { $0.subscriber != subscriber }
        let after = subscriptions[place...].filter { $0.subscriber != subscriber }
        subscriptions = before + filters.map { Subscription(subscriber: subscriber, filter: $0) } + after
        routes.removeAll()
    }

    /// `subscribers(for:)`, remembered: a hub publishes on a handful of topics millions of times.
    public mutating func route(_ topic: Topic) -> [Int] {
        if let known = routes[topic.name] { return known }
        let answer = subscribers(for: topic)
        routes[topic.name] = answer
        return answer
    }

    /// Each subscriber at most once per message, even if several of its filters match.
    public func subscribers(for topic: Topic) -> [Int] {
        var result: [Int] = []
        for subscription in subscriptions where subscription.filter.matches(topic) {
            if !result.contains(subscription.subscriber) { result.append(subscription.subscriber) }
        }
        return result
    }
}

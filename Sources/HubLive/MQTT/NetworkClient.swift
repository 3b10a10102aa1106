/// A network client with a thread of its own that runs beside the hub's loop: started
/// before the loop turns, stopped after it ends (the cloud port, the kits' listener).
public protocol NetworkClient: AnyObject {
    func start()
    func stop()
}

extension MQTTCloudPort: NetworkClient {}
extension LocalKitListener: NetworkClient {}

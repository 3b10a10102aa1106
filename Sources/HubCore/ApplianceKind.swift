/// The appliances the HBS product monitors.
public enum ApplianceKind: String, CaseIterable, Sendable {
    case furnace
    case washer
    case fridge
}

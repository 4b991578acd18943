namespace Ecommerce.Producer.Simulation;

/// <summary>What an event is meant to be: a valid order, or one of the ways events get broken in the wild.</summary>
public enum EventKind
{
    Valid,
    MalformedJson,
    MissingField,
    NegativeQuantity,
    WrongType,
}

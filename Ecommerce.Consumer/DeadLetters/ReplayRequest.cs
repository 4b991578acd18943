namespace Ecommerce.Consumer.DeadLetters;

/// <summary>Which dead letters to send to the orders topic again.</summary>
public sealed record ReplayRequest(IReadOnlyList<DeadLetterPosition>? DeadLetters);

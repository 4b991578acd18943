namespace Ecommerce.Consumer.DeadLetters;

/// <summary>A dead letter's place on the dead-letter topic, as listed.</summary>
public sealed record DeadLetterPosition(int Partition, long Offset);

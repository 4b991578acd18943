using Ecommerce.Producer.Simulation;

// The order simulator: a store's orders, sent to Kafka topic "orders" at a configurable rate.
try
{
    var builder = WebApplication.CreateBuilder(args);

    builder.AddServiceDefaults();
    builder.AddOrderSimulator();

    var app = builder.Build();

    app.MapDefaultEndpoints();
    app.MapSimulatorStatus();

    app.Run();
    return Environment.ExitCode;
}
catch (InvalidOperationException ex)
{
    // Settings are checked while the service is put together; say which one is wrong, without a crash dump.
    Console.Error.WriteLine($"Ecommerce.Producer cannot start: {ex.Message}");
    return 1;
}

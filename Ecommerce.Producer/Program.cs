using Ecommerce.Producer.Simulation;
using Ecommerce.ServiceDefaults;
using Microsoft.Extensions.Options;

// The order simulator: a store's orders, sent to Kafka topic "orders" at a configurable rate.
try
{
    var builder = WebApplication.CreateBuilder(args);

    builder.AddServiceDefaults();
    builder.AddOrderSimulator();

    var app = builder.Build();
    app.Services.CheckSettings();

    app.MapDefaultEndpoints();
    app.MapSimulatorStatus();

    app.Run();
    return Environment.ExitCode;
}
catch (Exception ex) when (ex is InvalidConfigurationException or OptionsValidationException)
{
    // A wrong setting, found while the service is put together or starts: say which one, without a crash dump.
    // Anything else is a defect and keeps its stack trace.
    Console.Error.WriteLine($"Ecommerce.Producer cannot start: {ex.Message}");
    return 1;
}

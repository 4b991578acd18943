using Ecommerce.Consumer.Analytics;
using Ecommerce.Consumer.DeadLetters;
using Ecommerce.Consumer.Ingestion;
using Ecommerce.ServiceDefaults;
using Microsoft.Extensions.Options;

// The ingestion service: reads orders from Kafka into the star-schema warehouse, exactly once, and answers the
// analytics questions over HTTP.
try
{
    var builder = WebApplication.CreateBuilder(args);

    builder.AddServiceDefaults();
    builder.AddOrderIngestion();
    builder.AddAnalytics();
    builder.AddDeadLetters();

    var app = builder.Build();
    app.Services.CheckSettings();

    app.UseDefaultFiles();
    app.UseStaticFiles(); // The sales dashboard (wwwroot/dashboard) and the chart library it uses.
    app.MapDefaultEndpoints();
    app.MapIngestionStatus();
    app.MapAnalytics();
    app.MapDeadLetters();

    app.Run();
    return Environment.ExitCode;
}
catch (Exception ex) when (ex is InvalidConfigurationException or OptionsValidationException)
{
    // A wrong setting, found while the service is put together or starts: say which one, without a crash dump.
    // Anything else is a defect and keeps its stack trace.
    Console.Error.WriteLine($"Ecommerce.Consumer cannot start: {ex.Message}");
    return 1;
}

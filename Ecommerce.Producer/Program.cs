using Ecommerce.Producer.Simulation;

// The order simulator: a store's orders, sent to Kafka topic "orders" at a configurable rate.
var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddOrderSimulator();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapSimulatorStatus();

app.Run();

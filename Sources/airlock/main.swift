import AirlockCLI

await AirlockCommand.run()

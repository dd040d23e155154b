// placeholder: replaced by the torch.export importer

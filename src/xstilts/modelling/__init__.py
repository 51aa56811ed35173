"""The modelling layer: encoders and the one head per task format, tokenised features, the one
training loop with its resumable state, masked-LM (mixed in and pretraining), and prediction."""

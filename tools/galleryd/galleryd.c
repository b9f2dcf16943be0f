/* placeholder: replaced by the galleryd implementation */
int main(void)
{
    return 0;
}
